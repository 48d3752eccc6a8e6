import SegProtocol

/// One method the daemon answers.
struct MethodHandler: Sendable {
    var method: String
    /// Served only with `--enable-debug-methods`.
    var debugOnly = false
    var run: @Sendable (RequestContext) async throws -> JSONValue
}

/// What a handler gets: its params, the shared core, and progress reporting.
struct RequestContext: Sendable {
    var id: RequestID
    var params: JSONValue?
    var core: ServerCore
    var progress: ProgressReporter
}
