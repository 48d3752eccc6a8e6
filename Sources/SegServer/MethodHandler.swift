import SegProtocol

/// One method the daemon answers.
struct MethodHandler: Sendable {
    var method: String
    /// Served only with `--enable-debug-methods`.
    var debugOnly = false
    var run: @Sendable (RequestContext) async throws -> JSONValue
    /// Runs on the connection's reader, in arrival order, before the request's task starts
    /// (tasks themselves start in no set order). `model/load` announces the id it will take
    /// here, so a request sent right after it waits for the model instead of missing it.
    var admit: (@Sendable (RequestContext) -> Void)? = nil
}

/// What a handler gets: its params, the shared core, and progress reporting.
struct RequestContext: Sendable {
    var id: RequestID
    var params: JSONValue?
    var core: ServerCore
    var progress: ProgressReporter
}
