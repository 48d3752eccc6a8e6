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

extension MethodHandler {
    /// A handler registered by its message type: params are decoded (and validated) through
    /// `R.Params` before `body` runs, and its result is encoded through `R.Result`.
    static func typed<R: RPCRequest>(_ type: R.Type, debugOnly: Bool = false, admit: (@Sendable (RequestContext) -> Void)? = nil,
                                     _ body: @escaping @Sendable (R.Params, RequestContext) async throws -> R.Result) -> MethodHandler {
        MethodHandler(method: R.method, debugOnly: debugOnly, run: { ctx in
            let params = try R.decodeParams(ctx.params)
            return try R.encodeResult(try await body(params, ctx))
        }, admit: admit)
    }
}
