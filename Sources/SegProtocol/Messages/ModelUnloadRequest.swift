/// `model/unload {id}`: drop a resident model and free its memory.
public enum ModelUnloadRequest: RPCRequest {
    public static let method = "model/unload"
    public typealias Params = ModelIDParams

    public struct Result: Codable, Sendable, Equatable {
        /// The id that was unloaded.
        public var id: String
        /// What it had counted against the memory budget.
        public var freedBytes: Int64
        public init(id: String, freedBytes: Int64) { self.id = id; self.freedBytes = freedBytes }
    }
}
