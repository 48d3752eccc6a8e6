import SegProtocol

/// How a technique describes itself on the wire (`technique/list`) and in the CLI's help.
public struct TechniqueDescriptor: Sendable, Equatable {
    /// What a technique needs from the caller besides the model.
    public enum Need: String, Sendable, CaseIterable {
        /// Unlabeled images to run through the model (calibration, BN recalibration).
        case calibrationData
        /// A labeled split to measure accuracy (sensitivity, accuracy budgets).
        case labeledData
        /// BatchNormalization nodes still in the graph.
        case batchNormNodes
    }

    /// A worked example: parameters plus what they do. Examples double as tests: each one
    /// must be accepted by `init(parameters:)`.
    public struct Example: Sendable, Equatable {
        public var summary: String
        public var parameters: JSONValue
        public init(summary: String, parameters: JSONValue) {
            self.summary = summary
            self.parameters = parameters
        }
    }

    /// Stable id used on the wire (`"quantize"`); lowercase, `[a-z0-9-]`.
    public var id: String
    /// One line: what it does.
    public var summary: String
    /// JSON Schema (draft 2020-12) of the parameters object.
    public var parameters: JSONValue
    public var needs: [Need]
    public var examples: [Example]

    public init(id: String, summary: String, parameters: JSONValue, needs: [Need] = [], examples: [Example] = []) {
        self.id = id
        self.summary = summary
        self.parameters = parameters
        self.needs = needs
        self.examples = examples
    }

    public var json: JSONValue {
        [
            "id": .string(id),
            "summary": .string(summary),
            "parameters": parameters,
            "needs": .array(needs.map { .string($0.rawValue) }),
            "examples": .array(examples.map { ["summary": .string($0.summary), "parameters": $0.parameters] }),
        ]
    }
}
