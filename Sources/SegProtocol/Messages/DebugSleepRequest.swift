/// `debug/sleep {durationMs, steps?, workDoneToken?}`: a slow, cancellable request for tests
/// and client developers. Only served when the daemon starts with `--enable-debug-methods`.
/// Result: `{sleptMs, steps}`.
public struct DebugSleepRequest: Sendable, Equatable {
    public static let method = "debug/sleep"

    /// Total time to sleep, 0...600000 ms.
    public var durationMs: Int64
    /// Progress reports over that time (default 10).
    public var steps: Int64
    public var workDoneToken: ProgressToken?

    public init(params: JSONValue?) throws(ResponseError) {
        let p = try ParamReader(params)
        try p.rejectUnknown(allowed: ["durationMs", "steps", "workDoneToken"])
        durationMs = try p.int("durationMs", range: 0...600_000)
        steps = try p.optionalInt("steps", range: 1...10_000) ?? 10
        workDoneToken = try p.optionalToken("workDoneToken")
    }
}

/// `debug/print {text}`: writes `text` with `print` (to fd 1). Proves that a stray `print`
/// lands on stderr and cannot corrupt the protocol stream. Debug methods only.
public enum DebugPrintRequest {
    public static let method = "debug/print"
}
