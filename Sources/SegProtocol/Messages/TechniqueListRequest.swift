/// `technique/list`: descriptors of every registered technique.
public enum TechniqueListRequest: RPCRequest {
    public static let method = "technique/list"
    public typealias Params = NoParams

    public struct Result: Codable, Sendable, Equatable {
        public var techniques: [Technique]
        public init(techniques: [Technique]) { self.techniques = techniques }
    }

    public struct Technique: Codable, Sendable, Equatable {
        /// What `model/compress` names it by.
        public var id: String
        public var summary: String
        /// JSON Schema of its `params`.
        public var parameters: JSONValue
        /// What it needs from the request: `calibrationData`, `labelledData`, ...
        public var needs: [String]
        /// Worked examples of `params`.
        public var examples: [Example]
        public init(id: String, summary: String, parameters: JSONValue, needs: [String], examples: [Example]) {
            self.id = id
            self.summary = summary
            self.parameters = parameters
            self.needs = needs
            self.examples = examples
        }
    }

    public struct Example: Codable, Sendable, Equatable {
        public var summary: String
        public var parameters: JSONValue
        public init(summary: String, parameters: JSONValue) { self.summary = summary; self.parameters = parameters }
    }
}
