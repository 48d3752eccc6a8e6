import Foundation
import SegProtocol
import SegRuntime

extension ServerCore {
    /// Every method beyond the lifecycle ones (which the connection handles in order).
    static let standardMethods: [MethodHandler] = [
        .typed(TechniqueListRequest.self) { _, ctx in
            TechniqueListRequest.Result(techniques: ctx.core.registry.descriptors.map { d in
                TechniqueListRequest.Technique(id: d.id, summary: d.summary, parameters: d.parameters, needs: d.needs.map(\.rawValue),
                                               examples: d.examples.map { .init(summary: $0.summary, parameters: $0.parameters) })
            })
        },
        .typed(ModelListRequest.self) { _, ctx in
            ModelListRequest.Result(models: await ctx.core.models.all.map(\.listed))
        },
        .typed(ServerStatusRequest.self) { _, ctx in
            let stats = ctx.core.stats.snapshot
            return ServerStatusResult(
                version: SegSlimVersion.current,
                uptimeMs: (Date().timeIntervalSince(ctx.core.stats.startedAt) * 1000 * 1000).rounded() / 1000,
                models: await ctx.core.models.count,
                residentBytes: await ctx.core.models.residentBytes,
                requestsServed: stats.served,
                requestsInFlight: stats.inFlight,
                connections: stats.connections,
                pid: getpid(),
                rssBytes: ServerStats.residentSetBytes(), runtime: RuntimeOptions.process.status)
        },
        .typed(DebugSleepRequest.self, debugOnly: true) { req, ctx in
            let start = Date()
            let steps = req.steps ?? 10
            ctx.progress.begin("Sleeping", message: "\(req.durationMs) ms")
            let stepNs = UInt64(req.durationMs) * 1_000_000 / UInt64(steps)
            for step in 1...steps {
                try await Task.sleep(nanoseconds: stepNs)
                ctx.progress.report(Double(step) / Double(steps), message: "step \(step) of \(steps)")
            }
            ctx.progress.end("done")
            return .init(sleptMs: (Date().timeIntervalSince(start) * 1000).rounded(), steps: steps)
        },
        .typed(DebugPrintRequest.self, debugOnly: true) { req, _ in
            print(req.text)
            fflush(nil)  // all streams: `stdout` itself is not concurrency-safe to name
            return NullResult()
        },
    ]
}
