/// `model/export {id, path, overwrite?}`: write a resident model (with its preprocessing as
/// metadata) to an .onnx file.
public enum ModelExportRequest: RPCRequest {
    public static let method = "model/export"

    public struct Params: Codable, Sendable, Equatable {
        /// A resident model's id.
        public var id: String
        /// The file to write.
        public var path: String
        /// Replace an existing file (default false: OutputExists).
        public var overwrite: Bool?
        public init(id: String, path: String, overwrite: Bool? = nil) { self.id = id; self.path = path; self.overwrite = overwrite }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var id: String
        /// Absolute path written.
        public var path: String
        /// Bytes written.
        public var sizeBytes: Int64
        public init(id: String, path: String, sizeBytes: Int64) { self.id = id; self.path = path; self.sizeBytes = sizeBytes }
    }
}
