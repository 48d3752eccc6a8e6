/// `model/autocompress {id, dataset, maxLatencyRatio | maxLatencyMs, maxMiouDrop, ...}`: searches
/// pruning, fine-tuning (with distillation from the source) and INT8 for the model that meets
/// every budget, measuring each candidate's latency on the runtime that serves it and its
/// accuracy on a search split kept apart from the split it reports.
public enum ModelAutoCompressRequest: RPCRequest {
    public static let method = "model/autocompress"

    /// Which recipes the search may try.
    public struct SearchSpace: Codable, Sendable, Equatable {
        /// Fractions of the source's MACs that structured pruning aims at (each in 0.05...0.95).
        public var pruneTargets: [Double]?
        /// Try INT8 (static, the quantize technique's default recipe) on every structure.
        public var quantize: Bool?
        /// Fine-tune budgets in epochs, one rung each (successive halving keeps the better half
        /// from one rung to the next); empty: no fine-tuning.
        public var fineTuneEpochs: [Int]?
        /// After the last rung, while time is left, train the best candidate still short of the
        /// accuracy floor twice as long again (default true).
        public var extendRungs: Bool?
        /// Distil from the source model while fine-tuning (channel-wise KD).
        public var distill: Bool?
        /// Extra `finetune` parameters (lr, crop, scale, batchSize, ...) for every fine-tune.
        public var finetune: JSONValue?

        public init(pruneTargets: [Double]? = nil, quantize: Bool? = nil, fineTuneEpochs: [Int]? = nil, extendRungs: Bool? = nil,
                    distill: Bool? = nil, finetune: JSONValue? = nil) {
            self.pruneTargets = pruneTargets
            self.extendRungs = extendRungs
            self.quantize = quantize
            self.fineTuneEpochs = fineTuneEpochs
            self.distill = distill
            self.finetune = finetune
        }
    }

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// The source model's id.
        public var id: String
        /// A labelled dataset with both the search split and the final split.
        public var dataset: String
        /// Candidates are scored (and fine-tunes pick their best epoch) here: default "train".
        public var searchSplit: String?
        /// Scored once, for the chosen model and the source, never during the search: default "val".
        public var finalSplit: String?
        /// Images of the search split each candidate is scored on, spread over the split (default 60).
        public var searchImages: Int?
        /// Latency budget relative to the source, on this machine and these threads (0.01...1).
        public var maxLatencyRatio: Double?
        /// Or an absolute latency budget in milliseconds.
        public var maxLatencyMs: Double?
        /// Largest mIoU drop allowed, as a fraction (0.01 = one point), 0...1.
        public var maxMiouDrop: Double
        /// Largest file size relative to the source (0.001...1).
        public var maxSizeRatio: Double?
        /// Wall-clock budget in minutes (default 60); the search returns the best found by then.
        public var timeBudgetMinutes: Double?
        /// Most candidates to try (default: no limit besides the time budget).
        public var maxTrials: Int?
        public var threads: Int?
        public var space: SearchSpace?
        /// Candidates' results and models are kept here; the same request run again reuses them
        /// (default: `OUT.search/` beside `outputPath`, else none).
        public var cacheDir: String?
        public var outputPath: String?
        public var newId: String?
        public var overwrite: Bool?
        /// Latency runs per candidate, alternating with the source (default 10).
        public var benchmarkRuns: Int?
        /// The input shape latency is measured at, for models with free height and width.
        public var inputShape: [Int]?

        public init(id: String, dataset: String, maxLatencyRatio: Double? = nil, maxMiouDrop: Double) {
            self.id = id
            self.dataset = dataset
            self.maxLatencyRatio = maxLatencyRatio
            self.maxMiouDrop = maxMiouDrop
        }

        public func validate() throws(ResponseError) {
            guard (maxLatencyRatio == nil) != (maxLatencyMs == nil) else {
                throw .invalidParams("params.maxLatencyRatio: give exactly one of maxLatencyRatio (relative to the source) and maxLatencyMs")
            }
            if let r = maxLatencyRatio, !(r >= 0.01 && r <= 1) {
                throw .invalidParams("params.maxLatencyRatio: \(r) is out of range 0.01...1 (a fraction of the source's latency)")
            }
            if let ms = maxLatencyMs, !(ms > 0 && ms <= 3_600_000) { throw .invalidParams("params.maxLatencyMs: \(ms) must be > 0") }
            guard maxMiouDrop >= 0 && maxMiouDrop <= 1 else {
                throw .invalidParams("params.maxMiouDrop: \(maxMiouDrop) is out of range 0...1 (a fraction: 0.01 is one mIoU point)")
            }
            if let s = maxSizeRatio, !(s >= 0.001 && s <= 1) { throw .invalidParams("params.maxSizeRatio: \(s) is out of range 0.001...1") }
            if let t = timeBudgetMinutes, !(t > 0 && t <= 10_080) { throw .invalidParams("params.timeBudgetMinutes: \(t) is out of range (0, 10080]") }
            try checkRange(maxTrials, "maxTrials", 1...10_000)
            try checkRange(searchImages, "searchImages", 1...1_000_000)
            try checkRange(threads, "threads", 1...256)
            if let shape = inputShape, shape.isEmpty || !shape.allSatisfy({ (1...65536).contains($0) }) {
                throw .invalidParams("params.inputShape: expected positive dimensions, e.g. [1, 3, 360, 480]")
            }
            try checkRange(benchmarkRuns, "benchmarkRuns", 1...10_000)
            if let s = searchSplit, s == (finalSplit ?? "val") {
                throw .invalidParams("params.searchSplit: '\(s)' is also the final split; the search must not score on the split it reports")
            }
            for (i, t) in (space?.pruneTargets ?? []).enumerated() where !(t >= 0.05 && t <= 0.95) {
                throw .invalidParams("params.space.pruneTargets[\(i)]: \(t) is out of range 0.05...0.95 (a fraction of the source's MACs)")
            }
            for (i, e) in (space?.fineTuneEpochs ?? []).enumerated() where !(1...1000).contains(e) {
                throw .invalidParams("params.space.fineTuneEpochs[\(i)]: \(e) is out of range 1...1000")
            }
            if let f = space?.finetune, f.objectValue == nil { throw .invalidParams("params.space.finetune: expected an object of finetune parameters") }
        }
    }

    public typealias Result = CompressResult
}
