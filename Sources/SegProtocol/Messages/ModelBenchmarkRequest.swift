/// `model/benchmark {id, ...}`: latency of a resident model on seeded random inputs.
public enum ModelBenchmarkRequest: RPCRequest {
    public static let method = "model/benchmark"

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// A resident model's id.
        public var id: String
        /// Timed runs, 1...100000 (default 20).
        public var runs: Int?
        /// Untimed runs first, 0...10000 (default 3).
        public var warmup: Int?
        /// Intra-op threads, 1...256 (default: all cores).
        public var threads: Int?
        /// Batch size, 1...1024 (default 1).
        public var batch: Int?
        /// Full input shape for models with dynamic dimensions, e.g. `[1, 3, 360, 480]`.
        public var inputShape: [Int]?
        /// Time per kernel kind.
        public var profile: Bool?
        /// With `profile`: how many of the slowest steps to list, 0...100000 (default 12; 0: every step).
        public var profileSteps: Int?
        /// `runtime` (default) or `reference`.
        public var engine: String?

        public init(id: String, runs: Int? = nil, warmup: Int? = nil, threads: Int? = nil, batch: Int? = nil,
                    inputShape: [Int]? = nil, profile: Bool? = nil, profileSteps: Int? = nil, engine: String? = nil) {
            self.id = id
            self.runs = runs
            self.warmup = warmup
            self.threads = threads
            self.batch = batch
            self.inputShape = inputShape
            self.profile = profile
            self.profileSteps = profileSteps
            self.engine = engine
        }

        public func validate() throws(ResponseError) {
            try checkRange(runs, "runs", 1...100_000)
            try checkRange(warmup, "warmup", 0...10_000)
            try checkRange(threads, "threads", 1...256)
            try checkRange(batch, "batch", 1...1024)
            try checkRange(profileSteps, "profileSteps", 0...100_000)
            if let engine, engine != "runtime" && engine != "reference" { throw .invalidParams("params.engine: expected runtime or reference") }
            if let inputShape, !inputShape.allSatisfy({ $0 > 0 && $0 < 1 << 20 }) {
                throw .invalidParams("params.inputShape: expected positive integers")
            }
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var id: String
        public var engine: String
        public var runs: Int
        public var warmup: Int
        public var batch: Int
        public var threads: Int
        public var p50Ms: Double
        public var p90Ms: Double
        public var minMs: Double
        public var meanMs: Double
        /// Compile time (0 for the reference engine); with `residentPlan`, what compiling
        /// the kept plan took when it was compiled.
        public var loadMs: Double
        /// True when the run timed the plan `model/segment` keeps for these shapes (threads not
        /// given, and a segment or evaluate request compiled one) instead of a fresh copy.
        public var residentPlan: Bool?
        /// Bytes of the compiled plan's activation arena.
        public var arenaBytes: Int64
        /// The daemon's peak resident set so far.
        public var peakRSSBytes: Int64
        /// Shape of each input used.
        public var inputShapes: [String: [Int]]
        /// Multiply-accumulates per run at `inputShapes` (a model with dynamic H and W has none
        /// of its own); nil when some node's could not be counted.
        public var macs: Int64?
        /// Compiled steps per kernel (runtime engine only).
        public var kernels: [String: Int]?
        /// With `profile: true`: time per kernel kind, largest first.
        public var profile: [ProfileEntry]?
        /// With `profile: true` on the runtime engine: the slowest steps of the plan (at most
        /// 12), largest first, each with its shapes and algorithm.
        public var slowestSteps: [StepProfileEntry]?

        public init(id: String, engine: String, runs: Int, warmup: Int, batch: Int, threads: Int, p50Ms: Double, p90Ms: Double,
                    minMs: Double, meanMs: Double, loadMs: Double, arenaBytes: Int64, peakRSSBytes: Int64, inputShapes: [String: [Int]],
                    kernels: [String: Int]? = nil, profile: [ProfileEntry]? = nil) {
            self.id = id
            self.engine = engine
            self.runs = runs
            self.warmup = warmup
            self.batch = batch
            self.threads = threads
            self.p50Ms = p50Ms
            self.p90Ms = p90Ms
            self.minMs = minMs
            self.meanMs = meanMs
            self.loadMs = loadMs
            self.arenaBytes = arenaBytes
            self.peakRSSBytes = peakRSSBytes
            self.inputShapes = inputShapes
            self.kernels = kernels
            self.profile = profile
        }
    }

    public struct ProfileEntry: Codable, Sendable, Equatable {
        public var kind: String
        public var msPerRun: Double
        /// Share of the profiled time.
        public var fraction: Double
        public init(kind: String, msPerRun: Double, fraction: Double) { self.kind = kind; self.msPerRun = msPerRun; self.fraction = fraction }
    }

    public struct StepProfileEntry: Codable, Sendable, Equatable {
        /// The step's position in the compiled plan.
        public var index: Int
        /// Its kind with shapes and algorithm, e.g. "Conv+act 64→128 3×3/2 g1 @64×64 implicitGEMM".
        public var step: String
        public var msPerRun: Double
        /// Share of the profiled time.
        public var fraction: Double
        public init(index: Int, step: String, msPerRun: Double, fraction: Double) {
            self.index = index; self.step = step; self.msPerRun = msPerRun; self.fraction = fraction
        }
    }
}
