import Foundation
import SegProtocol
import SegRuntime

extension ServerCore {
    /// Every method beyond the lifecycle ones (which the connection handles in order).
    static let standardMethods: [MethodHandler] = [
        MethodHandler(method: TechniqueListRequest.method) { ctx in
            try ParamReader(ctx.params).rejectUnknown(allowed: [])
            return ["techniques": .array(ctx.core.registry.descriptors.map(\.json))]
        },
        MethodHandler(method: ModelListRequest.method) { ctx in
            try ParamReader(ctx.params).rejectUnknown(allowed: [])
            let entries = await ctx.core.models.all
            return ["models": .array(entries.map(\.json))]
        },
        MethodHandler(method: ServerStatusResult.method) { ctx in
            try ParamReader(ctx.params).rejectUnknown(allowed: [])
            let stats = ctx.core.stats.snapshot
            let status = ServerStatusResult(
                version: SegSlimVersion.current,
                uptimeMs: (Date().timeIntervalSince(ctx.core.stats.startedAt) * 1000 * 1000).rounded() / 1000,
                models: await ctx.core.models.count,
                residentBytes: await ctx.core.models.residentBytes,
                requestsServed: stats.served,
                requestsInFlight: stats.inFlight,
                connections: stats.connections,
                pid: getpid(),
                rssBytes: ServerStats.residentSetBytes(), runtime: RuntimeOptions.process.status)
            return status.json
        },
        MethodHandler(method: DebugSleepRequest.method, debugOnly: true) { ctx in
            let req = try DebugSleepRequest(params: ctx.params)
            let start = Date()
            ctx.progress.begin("Sleeping", message: "\(req.durationMs) ms")
            let stepNs = UInt64(req.durationMs) * 1_000_000 / UInt64(req.steps)
            for step in 1...req.steps {
                try await Task.sleep(nanoseconds: stepNs)
                ctx.progress.report(Double(step) / Double(req.steps), message: "step \(step) of \(req.steps)")
            }
            ctx.progress.end("done")
            return ["sleptMs": .double((Date().timeIntervalSince(start) * 1000).rounded()), "steps": .int(req.steps)]
        },
        MethodHandler(method: DebugPrintRequest.method, debugOnly: true) { ctx in
            let p = try ParamReader(ctx.params)
            try p.rejectUnknown(allowed: ["text"])
            let text = try p.string("text")
            print(text)
            fflush(nil)  // all streams: `stdout` itself is not concurrency-safe to name
            return .null
        },
    ]
}
