/// `model/compress {id, technique, params?, ...}`: apply one technique to a resident model; the
/// result is resident beside the original (never touched), and written with its report.
public enum ModelCompressRequest: RPCRequest {
    public static let method = "model/compress"

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// The source model's id.
        public var id: String
        /// A registered technique id (`technique/list`).
        public var technique: String
        /// The technique's parameters.
        public var params: JSONValue?
        /// Evaluate before and after on this dataset (id or folder); also the accuracy probe.
        public var dataset: String?
        /// Split to evaluate on (default `val`).
        public var split: String?
        /// Images for techniques that need data.
        public var calibration: CalibrationParams?
        /// Write the model here (and its report beside it, `.report.json`).
        public var outputPath: String?
        /// Id of the new model (default `<id>-<technique>`).
        public var newId: String?
        /// Replace existing output files.
        public var overwrite: Bool?
        /// Evaluate when `dataset` is given (default true).
        public var evaluate: Bool?
        /// Intra-op threads for the technique's own runs, 1...256.
        public var threads: Int?
        /// Runs per model for the report's side-by-side latency, 0...10000 (default 10; 0 skips).
        public var benchmarkRuns: Int?

        public init(id: String, technique: String, params: JSONValue? = nil) {
            self.id = id
            self.technique = technique
            self.params = params
        }

        public func validate() throws(ResponseError) {
            try checkRange(threads, "threads", 1...256)
            try checkRange(benchmarkRuns, "benchmarkRuns", 0...10_000)
            try calibration?.validate()
        }
    }

    public typealias Result = CompressResult
}
