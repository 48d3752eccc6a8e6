/// `dataset/list`: the open datasets.
public enum DatasetListRequest: RPCRequest {
    public static let method = "dataset/list"
    public typealias Params = NoParams

    public struct Result: Codable, Sendable, Equatable {
        public var datasets: [DatasetDescription]
        public init(datasets: [DatasetDescription]) { self.datasets = datasets }
    }
}
