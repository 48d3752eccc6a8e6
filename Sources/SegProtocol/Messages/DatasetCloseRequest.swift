/// `dataset/close {id}`: forget an open dataset.
public enum DatasetCloseRequest: RPCRequest {
    public static let method = "dataset/close"

    public struct Params: Codable, Sendable, Equatable {
        /// An open dataset's id.
        public var id: String
        public init(id: String) { self.id = id }
    }

    public struct Result: Codable, Sendable, Equatable {
        /// The id that was closed.
        public var id: String
        public init(id: String) { self.id = id }
    }
}
