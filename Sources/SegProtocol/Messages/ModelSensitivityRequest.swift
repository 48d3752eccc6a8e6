/// `model/sensitivity {id, technique, dataset, ...}`: per layer, the score with only that
/// layer compressed.
public enum ModelSensitivityRequest: RPCRequest {
    public static let method = "model/sensitivity"

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// The model's id.
        public var id: String
        /// A technique with per-layer sensitivity analysis.
        public var technique: String
        /// The technique's parameters.
        public var params: JSONValue?
        /// A labelled dataset to score each layer on (required).
        public var dataset: String?
        public var split: String?
        /// Score on the first N images, 1...1000000.
        public var limit: Int?
        public var calibration: CalibrationParams?
        /// Intra-op threads, 1...256.
        public var threads: Int?

        public init(id: String, technique: String, dataset: String, params: JSONValue? = nil) {
            self.id = id
            self.technique = technique
            self.dataset = dataset
            self.params = params
        }

        public func validate() throws(ResponseError) {
            try checkRange(limit, "limit", 1...1_000_000)
            try checkRange(threads, "threads", 1...256)
            try calibration?.validate()
        }
    }

    /// `{id, technique, split, baseline, layers: [...], data, durationMs}`; `baseline` and each
    /// layer's `details` are technique-specific.
    public struct Result: Codable, Sendable, Equatable {
        public var id: String
        public var technique: String
        public var split: String?
        public var baseline: JSONValue?
        public var layers: [JSONValue]
        /// Where calibration and accuracy data came from.
        public var data: JSONValue
        public var durationMs: Double
        /// Defaults assumed for the model (no mean/std in its metadata); absent when none.
        public var warnings: [String]?
    }
}
