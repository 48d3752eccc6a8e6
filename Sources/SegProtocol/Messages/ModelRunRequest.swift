/// `model/run {id, inputs, outputDir?, engine?}`: run a model on raw tensors (`.npy` paths or
/// inline), the way scripts and tests check numerics.
public enum ModelRunRequest: RPCRequest {
    public static let method = "model/run"

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// A resident model's id.
        public var id: String
        /// Each input name to `{npy: path}` or `{dtype, shape, data}` (data: base64 of the raw bytes).
        public var inputs: [String: TensorInput]?
        /// Write each output as `<name>.npy` here; without it outputs come back inline.
        public var outputDir: String?
        /// `runtime` (compiled, the default) or `reference` (the plain oracle).
        public var engine: String?

        public init(id: String, inputs: [String: TensorInput], outputDir: String? = nil, engine: String? = nil) {
            self.id = id
            self.inputs = inputs
            self.outputDir = outputDir
            self.engine = engine
        }

        public func validate() throws(ResponseError) {
            if let engine, engine != "runtime" && engine != "reference" {
                throw .invalidParams("params.engine: expected \"runtime\" (compiled, the default) or \"reference\" (the plain oracle), got \"\(engine)\"")
            }
            if inputs == nil {
                throw .invalidParams("params.inputs: required object is missing (map each input name to {npy: path} or {dtype, shape, data})")
            }
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        /// In graph order.
        public var outputs: [Output]
        /// Time of the run alone.
        public var inferMs: Double
        public init(outputs: [Output], inferMs: Double) { self.outputs = outputs; self.inferMs = inferMs }
    }

    public struct Output: Codable, Sendable, Equatable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        /// The `.npy` written (with `outputDir`).
        public var path: String?
        /// Base64 of the raw little-endian bytes (without `outputDir`).
        public var data: String?
        public init(name: String, dtype: String, shape: [Int], path: String? = nil, data: String? = nil) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.path = path
            self.data = data
        }
    }
}
