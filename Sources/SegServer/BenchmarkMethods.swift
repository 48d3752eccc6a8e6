import Foundation
import SegPipeline
import SegProtocol
import SegRuntime
import SegTensor

/// `model/benchmark`: latency of the compiled runtime on a resident model.
extension ServerCore {
    static let benchmarkMethods: [MethodHandler] = [
        MethodHandler(method: "model/benchmark") { ctx in try await ctx.core.benchmark(ctx) }
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
    static func latencyComparison(_ a: ModelStore.Entry, _ b: ModelStore.Entry, runs: Int, threads: Int?) throws -> JSONValue {
        let inputs = try benchmarkInputs(a, explicit: nil, batch: 1)
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

    func benchmark(_ ctx: RequestContext) async throws -> JSONValue {
        let p = try ParamReader(ctx.params)
        try p.rejectUnknown(allowed: ["id", "runs", "warmup", "threads", "batch", "inputShape", "profile", "engine"])
        let entry = try await models.entry(id: try p.string("id"))
        let runs = Int(try p.optionalInt("runs", range: 1...100_000) ?? 20)
        let warmup = Int(try p.optionalInt("warmup", range: 0...10_000) ?? 3)
        let threads = try p.optionalInt("threads", range: 1...256).map(Int.init)
        let batch = Int(try p.optionalInt("batch", range: 1...1024) ?? 1)
        let profile = try p.optionalBool("profile") ?? false
        let engine = try p.optionalString("engine") ?? "runtime"
        guard engine == "runtime" || engine == "reference" else { throw ResponseError.invalidParams("params.engine: expected runtime or reference") }

        let explicit = try p.optionalArray("inputShape")?.map { v -> Int in
            guard let d = v.intValue, d > 0, d < 1 << 20 else { throw ResponseError.invalidParams("params.inputShape: expected positive integers") }
            return Int(d)
        }
        let inputs = try Self.benchmarkInputs(entry, explicit: explicit, batch: batch)

        let compileStart = Date()
        let compiled: CompiledModel? = engine == "runtime"
            ? try Compiler(threads: threads).compile(entry.model, inputShapes: inputs.mapValues(\.dims)) : nil
        let loadMs = Date().timeIntervalSince(compileStart) * 1000
        ctx.progress.begin("Benchmarking \(entry.id)")
        var times: [Double] = []
        var byKind: [String: Double] = [:]
        for i in 0..<(warmup + runs) {
            try Task.checkCancellation()
            let start = DispatchTime.now().uptimeNanoseconds
            if let compiled {
                _ = try compiled.run(inputs, isCancelled: { Task.isCancelled },
                                     profile: profile && i >= warmup ? { kind, ms in byKind[kind, default: 0] += ms } : nil)
            } else {
                _ = try entry.executor.run(inputs, isCancelled: { Task.isCancelled })
            }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if i >= warmup { times.append(ms) }
            ctx.progress.report(Double(i + 1) / Double(warmup + runs))
        }
        let stats = LatencyStats(times)
        var result: [String: JSONValue] = [
            "id": .string(entry.id), "engine": .string(engine), "runs": .int(Int64(runs)), "warmup": .int(Int64(warmup)),
            "batch": .int(Int64(batch)), "threads": .int(Int64(threads ?? ProcessInfo.processInfo.activeProcessorCount)),
            "p50Ms": .double(Self.ms(stats.p50Ms)), "p90Ms": .double(Self.ms(stats.p90Ms)),
            "minMs": .double(Self.ms(stats.minMs)), "meanMs": .double(Self.ms(stats.meanMs)),
            "loadMs": .double(Self.ms(loadMs)), "arenaBytes": .int(Int64(compiled?.arenaBytes ?? 0)),
            "peakRSSBytes": .int(ServerStats.peakResidentSetBytes()),
            "inputShapes": .object(inputs.mapValues { .array($0.dims.map { .int(Int64($0)) }) }),
        ]
        if let compiled { result["kernels"] = .object(compiled.kernelCounts.mapValues { .int(Int64($0)) }) }
        if profile {
            let total = byKind.values.reduce(0, +)
            result["profile"] = .array(byKind.sorted { $0.value > $1.value }.map { kind, ms in
                ["kind": .string(kind), "msPerRun": .double(Self.ms(ms / Double(runs))), "fraction": .double(total > 0 ? ms / total : 0)]
            })
        }
        return .object(result)
    }
}
