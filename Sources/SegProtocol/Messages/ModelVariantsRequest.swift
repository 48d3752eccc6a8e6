/// `model/variants {id, set?, add?, remove?, dataset?, ...}`: a model family, the source and its
/// compressed variants (resident models), each measured on this machine: latency on the
/// runtime, file size and, given a dataset, mIoU. `model/segment` chooses among them by
/// `variant` or policy. Without `set`/`add`/`remove` it lists the family.
public enum ModelVariantsRequest: RPCRequest {
    public static let method = "model/variants"

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// The source model's id: the family's name and its first member.
        public var id: String
        /// Resident ids that become the family's variants (replacing any before).
        public var set: [String]?
        public var add: [String]?
        public var remove: [String]?
        /// Score each new member on this dataset's split (default split "val").
        public var dataset: String?
        public var split: String?
        /// Score on this many images of the split, spread over it.
        public var limit: Int?
        /// Latency runs per member (default 10).
        public var benchmarkRuns: Int?
        public var threads: Int?
        /// The input shape latency is measured at, for models with free height and width.
        public var inputShape: [Int]?

        public init(id: String, set: [String]? = nil) { self.id = id; self.set = set }

        public func validate() throws(ResponseError) {
            try checkRange(limit, "limit", 1...1_000_000)
            try checkRange(benchmarkRuns, "benchmarkRuns", 1...10_000)
            try checkRange(threads, "threads", 1...256)
            if let shape = inputShape, shape.isEmpty || !shape.allSatisfy({ (1...65536).contains($0) }) {
                throw .invalidParams("params.inputShape: expected positive dimensions, e.g. [1, 3, 360, 480]")
            }
            if set != nil && (add != nil || remove != nil) {
                throw .invalidParams("params.set: give set (the whole family) or add/remove, not both")
            }
        }
    }

    public struct Member: Codable, Sendable, Equatable {
        public var id: String
        /// Runtime p50 at batch 1 on the model's input size, measured when it joined.
        public var latencyMs: Double
        public var sizeBytes: Int64
        /// On `split` of the dataset given when it joined; absent without one.
        public var miou: Double?
        public var split: String?
        /// The most accurate member (by mIoU; the source when none is scored) and the fastest.
        public var accurate: Bool
        public var fastest: Bool
        public init(id: String, latencyMs: Double, sizeBytes: Int64, miou: Double? = nil, split: String? = nil, accurate: Bool = false, fastest: Bool = false) {
            self.id = id
            self.latencyMs = latencyMs
            self.sizeBytes = sizeBytes
            self.miou = miou
            self.split = split
            self.accurate = accurate
            self.fastest = fastest
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var id: String
        /// The source first, then its variants.
        public var members: [Member]
        public init(id: String, members: [Member]) { self.id = id; self.members = members }
    }
}
