/// `model/pipeline {id, steps, ...}`: techniques in order, each on the previous one's model;
/// one resident result and one report.
public enum ModelPipelineRequest: RPCRequest {
    public static let method = "model/pipeline"

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// The source model's id.
        public var id: String
        /// Techniques in order.
        public var steps: [TechniqueStep]?
        /// As `model/compress`.
        public var dataset: String?
        public var split: String?
        public var calibration: CalibrationParams?
        public var outputPath: String?
        public var newId: String?
        public var overwrite: Bool?
        public var evaluate: Bool?
        public var threads: Int?
        public var benchmarkRuns: Int?

        public init(id: String, steps: [TechniqueStep]) { self.id = id; self.steps = steps }

        public func validate() throws(ResponseError) {
            guard let steps, !steps.isEmpty else { throw .invalidParams("params.steps: required non-empty array of {technique, params}") }
            try checkRange(threads, "threads", 1...256)
            try checkRange(benchmarkRuns, "benchmarkRuns", 0...10_000)
            try calibration?.validate()
        }
    }

    public typealias Result = CompressResult
}
