/// `dataset/open {path, format?}`: open a dataset folder and check its listing.
public enum DatasetOpenRequest: RPCRequest {
    public static let method = "dataset/open"

    public struct Params: Codable, Sendable, Equatable {
        /// The dataset's root folder.
        public var path: String
        /// Force a format instead of detecting it.
        public var format: String?
        public init(path: String, format: String? = nil) { self.path = path; self.format = format }
    }

    public typealias Result = DatasetDescription
}
