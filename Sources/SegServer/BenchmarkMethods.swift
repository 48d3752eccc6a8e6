import Foundation
import SegPipeline
import SegProtocol
import SegReference
import SegRuntime
import SegTensor

/// `model/benchmark`: latency of the compiled runtime on a resident model.
extension ServerCore {
    static let benchmarkMethods: [MethodHandler] = [
        .typed(ModelBenchmarkRequest.self) { p, ctx in try await ctx.core.benchmark(p, ctx) }
    ]

    /// Seeded random values of the model's input shapes (batch replaced; dynamic H/W from
    /// `explicit` or the preprocessing's input size).
    static func benchmarkInputs(_ entry: ModelStore.Entry, explicit: [Int]?, batch: Int) throws -> [String: Tensor] {
        var inputs: [String: Tensor] = [:]
        var rng = SeededGenerator(seed: 42)
        for io in entry.summary.inputs {
            var dims: [Int] = []
            for (axis, d) in (io.shape ?? []).enumerated() {
                if case .value(let v) = d { dims.append(v); continue }
                if let explicit, axis < explicit.count { dims.append(explicit[axis]); continue }
                if axis == 0 { dims.append(1); continue }
                if let size = entry.preprocessing?.inputSize, axis >= 2 { dims.append(axis == 2 ? size.height : size.width); continue }
                throw ResponseError.invalidParams("params.inputShape: input '\(io.name)' has a dynamic dimension \(axis); give the full shape, e.g. [1, 3, 360, 480]")
            }
            if let explicit, explicit.count == dims.count { dims = explicit }
            if !dims.isEmpty && explicit == nil { dims[0] = batch }
            guard io.dtype == .f32 || io.dtype == nil else {
                throw ResponseError.invalidParams("params.id: benchmarking needs float inputs; '\(io.name)' is \(io.dtype.map { "\($0)" } ?? "?")")
            }
            let count = dims.reduce(1, *)
            guard count <= 1 << 28 else { throw ResponseError.invalidParams("params.inputShape: \(dims) is too large") }
            inputs[io.name] = try Tensor(dims: dims, scalars: (0..<count).map { _ in Float(Double(rng.next() % 2000) / 1000 - 1) })
        }
        return inputs
    }

    /// p50 latency of two models on the same inputs, runs alternating so machine noise hits
    /// both alike: the speed part of a compress report.
    static func latencyComparison(_ a: ModelStore.Entry, _ b: ModelStore.Entry, runs: Int, threads: Int?, inputShape: [Int]? = nil) throws -> JSONValue {
        let inputs = try benchmarkInputs(a, explicit: inputShape, batch: 1)
        let ca = try Compiler(threads: threads).compile(a.model, inputShapes: inputs.mapValues(\.dims))
        let cb = try Compiler(threads: threads).compile(b.model, inputShapes: inputs.mapValues(\.dims))
        var ta: [Double] = [], tb: [Double] = []
        for i in 0..<(runs + 2) {
            for (compiled, isA) in [(ca, true), (cb, false)] {
                try Task.checkCancellation()
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try compiled.run(inputs, isCancelled: { Task.isCancelled })
                let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                if i >= 2 { if isA { ta.append(ms) } else { tb.append(ms) } }
            }
        }
        let pa = LatencyStats(ta).p50Ms, pb = LatencyStats(tb).p50Ms
        return ["beforeP50Ms": .double(ms(pa)), "afterP50Ms": .double(ms(pb)), "ratio": .double(pa > 0 ? pb / pa : 0), "runs": .int(Int64(runs)),
                "inputShapes": .object(inputs.mapValues { .array($0.dims.map { .int(Int64($0)) }) })]
    }

    /// How many steps `slowestSteps` lists unless `profileSteps` says (0: all).
    static let slowestStepCount = 12

    func benchmark(_ p: ModelBenchmarkRequest.Params, _ ctx: RequestContext) async throws -> ModelBenchmarkRequest.Result {
        let entry = try await models.entry(id: p.id)
        let runs = p.runs ?? 20
        let warmup = p.warmup ?? 3
        let threads = p.threads
        let batch = p.batch ?? 1
        let profile = p.profile ?? false
        let engine = p.engine ?? "runtime"
        let inputs = try Self.benchmarkInputs(entry, explicit: p.inputShape, batch: batch)

        // The plan `model/segment` runs when it has one for these shapes (and the same threads):
        // timing a second copy of the weights would measure two plans evicting each other
        // from the cache, not the model a warm daemon serves.
        let shapes = inputs.filter { $0.value.dtype == .f32 }.mapValues(\.dims)
        let resident = engine == "runtime" && threads == nil && entry.runner.usesSharedPool ? entry.runner.cachedPlan(for: shapes) : nil
        let compileStart = Date()
        let compiled: CompiledModel? = engine == "runtime"
            ? try resident?.plan ?? Compiler(threads: threads).compile(entry.model, inputShapes: inputs.mapValues(\.dims)) : nil
        let loadMs = resident?.compileMs ?? Date().timeIntervalSince(compileStart) * 1000
        ctx.progress.begin("Benchmarking \(entry.id)")
        var times: [Double] = []
        var byKind: [String: Double] = [:]
        var byStep: [Int: Double] = [:]
        for i in 0..<(warmup + runs) {
            try Task.checkCancellation()
            let start = DispatchTime.now().uptimeNanoseconds
            if let compiled {
                _ = try compiled.run(inputs, isCancelled: { Task.isCancelled },
                                     profile: profile && i >= warmup ? { step, kind, ms in
                                         byKind[kind, default: 0] += ms
                                         byStep[step, default: 0] += ms
                                     } : nil)
            } else {
                _ = try entry.executor.run(inputs, isCancelled: { Task.isCancelled })
            }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if i >= warmup { times.append(ms) }
            ctx.progress.report(Double(i + 1) / Double(warmup + runs))
        }
        let stats = LatencyStats(times)
        var result = ModelBenchmarkRequest.Result(
            id: entry.id, engine: engine, runs: runs, warmup: warmup, batch: batch, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount,
            p50Ms: Self.ms(stats.p50Ms), p90Ms: Self.ms(stats.p90Ms), minMs: Self.ms(stats.minMs), meanMs: Self.ms(stats.meanMs),
            loadMs: Self.ms(loadMs), arenaBytes: Int64(compiled?.arenaBytes ?? 0), peakRSSBytes: ServerStats.peakResidentSetBytes(),
            inputShapes: inputs.mapValues(\.dims), kernels: compiled?.kernelCounts)
        if engine == "runtime" { result.residentPlan = resident != nil }
        if entry.summary.uncountedNodes == 0 && batch == 1 && p.inputShape == nil {
            result.macs = Int64(entry.summary.macs)
        } else if let inference = try? ShapeInference(model: entry.model, inputShapes: inputs.mapValues(\.dims)) {
            // Dynamic dims, a batch or an explicit shape: counted again at the shapes that ran.
            let summary = ModelSummary(model: entry.model, inference: inference)
            if summary.uncountedNodes == 0 { result.macs = Int64(summary.macs) }
        }
        if profile {
            let total = byKind.values.reduce(0, +)
            result.profile = byKind.sorted { $0.value > $1.value }.map { kind, ms in
                .init(kind: kind, msPerRun: Self.ms(ms / Double(runs)), fraction: total > 0 ? ms / total : 0)
            }
            if let compiled {
                result.slowestSteps = byStep.sorted { $0.value > $1.value }.prefix(p.profileSteps.map { $0 == 0 ? Int.max : $0 } ?? Self.slowestStepCount).map { step, ms in
                    .init(index: step, step: compiled.stepDescription(step), msPerRun: Self.ms(ms / Double(runs)), fraction: total > 0 ? ms / total : 0)
                }
            }
        }
        return result
    }
}
