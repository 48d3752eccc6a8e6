/// `model/annotate {id, classes?, mean?, std?, outputPath, overwrite?}`: write a copy of a
/// resident image model whose `segslim.*` metadata names its classes (and their colours) and
/// its normalization, so later loads need no flags and assume no defaults.
public enum ModelAnnotateRequest: RPCRequest {
    public static let method = "model/annotate"

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// A resident image model's id.
        public var id: String
        /// Class names and palette: a dataset folder, its `dataset.json`, an open dataset's id,
        /// or `{names, palette?}`.
        public var classes: ClassesSource?
        /// Per-channel mean, applied to pixel·scale (3 numbers).
        public var mean: [Double]?
        /// Per-channel standard deviation (3 non-zero numbers).
        public var std: [Double]?
        /// The .onnx file to write.
        public var outputPath: String
        /// Replace an existing file (default false: OutputExists).
        public var overwrite: Bool?

        public init(id: String, classes: ClassesSource? = nil, mean: [Double]? = nil, std: [Double]? = nil, outputPath: String, overwrite: Bool? = nil) {
            self.id = id
            self.classes = classes
            self.mean = mean
            self.std = std
            self.outputPath = outputPath
            self.overwrite = overwrite
        }

        public func validate() throws(ResponseError) {
            guard classes != nil || mean != nil || std != nil else {
                throw .invalidParams("params: nothing to annotate; give classes, mean or std")
            }
            if let mean, mean.count != 3 || !mean.allSatisfy(\.isFinite) {
                throw .invalidParams("params.mean: expected 3 finite numbers (one per channel), got \(mean.count)")
            }
            if let std, std.count != 3 || !std.allSatisfy({ $0.isFinite && $0 != 0 }) {
                throw .invalidParams("params.std: expected 3 finite non-zero numbers (one per channel)")
            }
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var id: String
        /// Absolute path written.
        public var path: String
        /// Bytes written.
        public var sizeBytes: Int64
        /// The `segslim.*` entries this request set, as written.
        public var metadata: [String: String]
        public init(id: String, path: String, sizeBytes: Int64, metadata: [String: String]) {
            self.id = id
            self.path = path
            self.sizeBytes = sizeBytes
            self.metadata = metadata
        }
    }
}
