/// `model/evaluate {id, dataset, split?, limit?}`: score a model on a labelled split.
public enum ModelEvaluateRequest: RPCRequest {
    public static let method = "model/evaluate"

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// A resident image model's id.
        public var id: String
        /// An open dataset's id, or a folder (opened on the fly).
        public var dataset: String
        /// Default `val`.
        public var split: String?
        /// Score only the first N images, 1...1000000.
        public var limit: Int?

        public init(id: String, dataset: String, split: String? = nil, limit: Int? = nil) {
            self.id = id
            self.dataset = dataset
            self.split = split
            self.limit = limit
        }

        public func validate() throws(ResponseError) { try checkRange(limit, "limit", 1...1_000_000) }
    }

    /// The metrics, with the model and split they are of.
    public struct Result: Codable, Sendable, Equatable {
        public var id: String
        public var split: String
        public var metrics: EvaluationMetrics
        /// Defaults assumed for the model (no mean/std in its metadata); absent when none.
        public var warnings: [String]?

        public init(id: String, split: String, metrics: EvaluationMetrics, warnings: [String]? = nil) {
            self.id = id
            self.split = split
            self.metrics = metrics
            self.warnings = warnings
        }

        enum CodingKeys: String, CodingKey { case id, split, warnings }

        // Flat on the wire: `{id, split, miou, ...}`.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            split = try c.decode(String.self, forKey: .split)
            metrics = try EvaluationMetrics(from: decoder)
            warnings = try c.decodeIfPresent([String].self, forKey: .warnings)
        }

        public func encode(to encoder: any Encoder) throws {
            try metrics.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(split, forKey: .split)
            try c.encodeIfPresent(warnings, forKey: .warnings)
        }
    }
}
