/// `model/list`: the resident models.
public enum ModelListRequest: RPCRequest {
    public static let method = "model/list"
    public typealias Params = NoParams

    public struct Result: Codable, Sendable, Equatable {
        /// In load order.
        public var models: [Model]
        public init(models: [Model]) { self.models = models }
    }

    public struct Model: Codable, Sendable, Equatable {
        public var id: String
        /// The file it came from; null for a compressed model not written to disk.
        @EncodesNull public var path: String?
        /// What it counts against the memory budget.
        public var residentBytes: Int64
        /// When it became resident, in ms since 1970.
        public var loadedAtMs: Double
        /// Id of the model it was compressed from.
        @EncodesNull public var derivedFrom: String?

        public init(id: String, path: String?, residentBytes: Int64, loadedAtMs: Double, derivedFrom: String?) {
            self.id = id
            self.path = path
            self.residentBytes = residentBytes
            self.loadedAtMs = loadedAtMs
            self.derivedFrom = derivedFrom
        }
    }
}
