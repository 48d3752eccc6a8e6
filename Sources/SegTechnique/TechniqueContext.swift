import SegProtocol

/// What a running technique may use: progress reporting and cancellation for now; the
/// runtime and datasets join as their modules land.
public struct TechniqueContext: Sendable {
    /// Reports fractional progress (0...1) with a short message; a no-op when the client did
    /// not ask for progress.
    public var progress: @Sendable (_ fraction: Double, _ message: String) -> Void

    public init(progress: @escaping @Sendable (Double, String) -> Void = { _, _ in }) {
        self.progress = progress
    }

    /// Throws `CancellationError` when the request was cancelled; call between steps.
    public func checkCancellation() throws {
        try Task.checkCancellation()
    }
}
