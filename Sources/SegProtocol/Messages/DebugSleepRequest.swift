/// `debug/sleep {durationMs, steps?, workDoneToken?}`: a slow, cancellable request for tests
/// and client developers. Only served when the daemon starts with `--enable-debug-methods`.
public enum DebugSleepRequest: RPCRequest {
    public static let method = "debug/sleep"

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// Total time to sleep, 0...600000 ms.
        public var durationMs: Int64
        /// Progress reports over that time, 1...10000 (default 10).
        public var steps: Int64?
        /// Where `$/progress` goes.
        public var workDoneToken: ProgressToken?

        public init(durationMs: Int64, steps: Int64? = nil, workDoneToken: ProgressToken? = nil) {
            self.durationMs = durationMs
            self.steps = steps
            self.workDoneToken = workDoneToken
        }

        public func validate() throws(ResponseError) {
            try checkRange(durationMs, "durationMs", 0...600_000)
            try checkRange(steps, "steps", 1...10_000)
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        /// Time actually slept.
        public var sleptMs: Double
        public var steps: Int64
        public init(sleptMs: Double, steps: Int64) { self.sleptMs = sleptMs; self.steps = steps }
    }
}

/// `debug/print {text}`: writes `text` with `print` (to fd 1). Proves that a stray `print`
/// lands on stderr and cannot corrupt the protocol stream. Debug methods only.
public enum DebugPrintRequest: RPCRequest {
    public static let method = "debug/print"

    public struct Params: Codable, Sendable, Equatable {
        /// What to print.
        public var text: String
        public init(text: String) { self.text = text }
    }

    public typealias Result = NullResult
}
