import SegProtocol

/// What a search found, handed from the search loop to the part that picks, scores on the
/// final split and publishes (which runs even after a cancel).
struct AutoCompressOutcome: Sendable {
    var trials: [AutoCompressTrial]
    /// Encoded models of scored candidates, by candidate key.
    var models: [String: [UInt8]]
    var sourceMiou: Double
    var stoppedBy: String
    /// Trials measured now (not read from the cache).
    var measured: Int
    /// Candidates that could not be built or measured: `{key, probe, error}`.
    var failures: [JSONValue]
    var searchSplit: String
    var searchImages: Int
    var finalSplit: String
    var budgets: AutoCompressBudgets
}
