import Foundation
import SegData
import SegGraph
import SegONNX
import SegPipeline
import SegProtocol
import SegTechnique

/// `model/autocompress`: the budgeted search over pruning, fine-tuning with distillation and
/// INT8. Cheap proxies first: every structure's latency and size come from a probe built
/// without training, and structures that miss them are never trained; the rest are scored
/// untrained, then fine-tuned in rungs of growing epochs where only the better half goes on
/// (successive halving). Latency is always measured on the runtime that serves the model,
/// alternating with the source; accuracy on the search split only.
extension ServerCore {
    static let autoCompressMethods: [MethodHandler] = [
        .typed(ModelAutoCompressRequest.self) { p, ctx in try await ctx.core.autoCompress(p, ctx) }
    ]

    /// Why a search stopped before trying everything.
    enum SearchStop: Error { case timeBudget, trialBudget }

    func autoCompress(_ p: ModelAutoCompressRequest.Params, _ ctx: RequestContext) async throws -> CompressResult {
        let started = Date()
        let source = try await models.entry(id: p.id)
        guard source.preprocessing != nil else {
            throw ResponseError.invalidParams("params.id: '\(source.id)' is not an image segmentation model (no preprocessing); auto-compression scores masks")
        }
        let (datasetName, dataset) = try await dataset(p.dataset)
        let searchSplit = p.searchSplit ?? "train", finalSplit = p.finalSplit ?? "val"
        for (field, split) in [("searchSplit", searchSplit), ("finalSplit", finalSplit)] {
            guard let samples = dataset.splits[split], samples.contains(where: { $0.label != nil }) else {
                throw ResponseError(.datasetError, "params.\(field): \(dataset.root) has no labelled split '\(split)' (splits: \(dataset.splitNames.joined(separator: ", "))); the search scores on one split and reports on another")
            }
        }
        let overwrite = p.overwrite ?? false
        let outputPath = try p.outputPath.map { try FilePaths.outputFile($0, field: "params.outputPath", overwrite: overwrite) }
        if let outputPath, !overwrite {
            for extra in [".report.json", ".pareto.png"] where FileManager.default.fileExists(atPath: outputPath + extra) {
                throw ResponseError(.outputExists, "params.outputPath: \(outputPath + extra) exists; pass overwrite: true to replace it")
            }
        }
        let cache = try AutoCompressCache(directory: p.cacheDir.map(FilePaths.absolute) ?? outputPath.map { $0 + ".search" })
        let space = p.space ?? .init()
        let budgets = AutoCompressBudgets(maxLatencyRatio: p.maxLatencyRatio, maxLatencyMs: p.maxLatencyMs, maxMiouDrop: p.maxMiouDrop,
                                          maxSizeRatio: p.maxSizeRatio)
        let settings = AutoCompressCandidate.RecipeSettings(sourceID: source.id, searchSplit: searchSplit, distill: space.distill ?? true,
                                                            finetune: space.finetune?.objectValue ?? [:])
        let searchImages = p.searchImages ?? 60
        let runs = p.benchmarkRuns ?? 10
        let deadline = started.addingTimeInterval((p.timeBudgetMinutes ?? 60) * 60)
        let sourceBytes = try ONNX.encode(source.model)
        let sourceSHA = SHA256.hex(sourceBytes)
        // Calibration and the techniques' own accuracy checks see the search split only.
        let inputs = try await techniqueInputs(try ParamReader(["dataset": .string(datasetName), "split": .string(searchSplit),
                                                                "calibration": ["split": .string(searchSplit)]]),
                                               source: source, threads: p.threads)
        let quiet = ProgressReporter(token: nil, writer: nil)
        ctx.progress.begin("Auto-compressing \(source.id)")

        var trials: [AutoCompressTrial] = []
        var measured = 0
        var candidateModels: [String: [UInt8]] = [:]
        let prefixes = AutoCompressPrefixes()
        var stoppedBy = "search space exhausted"
        let sourceMiou: Double
        let sourceKey = "source:" + [sourceSHA, searchSplit, String(searchImages)].joined(separator: "/")
        if let cached = cache.number(sourceKey) { sourceMiou = cached } else {
            sourceMiou = try await evaluation(source, dataset, split: searchSplit, limit: searchImages, spread: true, keepMasks: false,
                                              progress: quiet, label: source.id).metrics.miou
            try cache.store(number: sourceMiou, for: sourceKey)
        }

        /// Builds and measures a candidate (or reads it from the cache), within the time and
        /// trial budgets.
        func run(_ candidate: AutoCompressCandidate, probe: Bool) async throws -> AutoCompressTrial {
            let steps = candidate.steps(settings, probe: probe)
            let key = SHA256.hex(Array(JSONValue.object([
                "source": .string(sourceSHA), "steps": .array(steps.map { ["technique": .string($0.technique), "params": $0.params ?? [:]] }),
                "searchSplit": .string(searchSplit), "searchImages": .int(Int64(searchImages)), "threads": .int(Int64(p.threads ?? 0)),
                "probe": .bool(probe),
            ]).jsonString.utf8))
            if let done = cache.trial(key) {
                if !probe, let bytes = cache.model(key) { candidateModels[candidate.key] = bytes }
                return done
            }
            if let max = p.maxTrials, measured >= max { throw SearchStop.trialBudget }
            if Date() >= deadline { throw SearchStop.timeBudget }
            measured += 1
            let left = max(0, deadline.timeIntervalSinceNow / 60)
            let best = budgets.choose(trials, sourceMiou: sourceMiou)
            ctx.progress.report(min(Date().timeIntervalSince(started) / max(deadline.timeIntervalSince(started), 1), 0.99),
                                message: "trial \(trials.count + 1): \(candidate.key)\(probe ? " (latency probe)" : ""); best so far "
                                    + (best.map { "\($0.trial.candidate.key) \(String(format: "%.4f", $0.trial.searchMiou ?? 0))" } ?? "none")
                                    + String(format: "; %.0f min left", left))
            let t0 = Date()
            let ckptKey = steps.firstIndex { $0.technique == "finetune" }.map { i in
                SHA256.hex(Array(JSONValue.object(["source": .string(sourceSHA), "threads": .int(Int64(p.threads ?? 0)),
                    "steps": .array(steps[...i].map { ["technique": .string($0.technique), "params": $0.params ?? [:]] })]).jsonString.utf8))
            }
            let (trial, modelBytes) = try await Self.withDeadline(deadline) { [self] in
                let techniques = try steps.enumerated().map { i, s in
                    do { return (s.technique, s.params ?? [:], try registry.make(id: s.technique, parameters: s.params ?? [:])) } catch {
                        throw ResponseError.technique(error, technique: s.technique, field: "candidate \(candidate.key) step \(i)")
                    }
                }
                var prefixSettings = techniques
                if let ckptKey, let ckpt = cache.checkpointDirectory(ckptKey), let i = prefixSettings.firstIndex(where: { $0.0 == "finetune" }),
                   case .object(var o) = prefixSettings[i].1 {
                    o["checkpointDir"] = .string(ckpt)
                    prefixSettings[i].1 = .object(o)
                    prefixSettings[i].2 = try registry.make(id: "finetune", parameters: .object(o))
                }
                // Start from the longest prefix already built (a pruning, a fine-tune): the FP32
                // and INT8 versions of one structure, and its probe, share them.
                let prefixKeys = steps.indices.map { i in
                    SHA256.hex(Array(JSONValue.object(["source": .string(sourceSHA),
                        "steps": .array(steps[...i].map { ["technique": .string($0.technique), "params": $0.params ?? [:]] })]).jsonString.utf8))
                }
                var model = source.model, from = 0
                for i in steps.indices.reversed() {
                    if let built = await prefixes.model(prefixKeys[i]) { (model, from) = (built, i + 1); break }
                }
                for j in from..<steps.count {
                    model = try await applySteps([prefixSettings[j]], to: model, source: source, dataset: datasetName,
                                                 inputs: inputs, threads: p.threads) { _, _ in }.model
                    if ["prune", "finetune"].contains(steps[j].technique) { await prefixes.keep(model, for: prefixKeys[j]) }
                }
                let bytes = try ONNX.encode(model)
                let entry = try ResidentModel.make(id: "\(source.id)-candidate", path: nil, model: model, fileBytes: Int64(bytes.count),
                                                   derivedFrom: source.id, preprocessing: .derived,
                                                   cannotRun: { ResponseError(.techniqueFailed, "candidate \(candidate.key) cannot run: \($0)") })
                let latency = try Self.latencyComparison(source, entry, runs: runs, threads: p.threads, inputShape: p.inputShape)
                var miou: Double? = nil
                if !probe {
                    miou = try await evaluation(entry, dataset, split: searchSplit, limit: searchImages, spread: true, keepMasks: false,
                                                progress: quiet, label: candidate.key).metrics.miou
                    try cache.store(model: bytes, for: key)
                }
                return (AutoCompressTrial(candidate: candidate, steps: steps, probe: probe,
                                          latencyMs: latency["afterP50Ms"]?.doubleValue ?? 0, sourceLatencyMs: latency["beforeP50Ms"]?.doubleValue ?? 0,
                                          sizeBytes: bytes.count, sourceSizeBytes: sourceBytes.count, searchMiou: miou,
                                          seconds: Date().timeIntervalSince(t0)), probe ? nil : bytes)
            }
            if let modelBytes { candidateModels[candidate.key] = modelBytes }
            try cache.store(trial: trial, for: key)
            return trial
        }

        /// A candidate that fails (a pruning target the graph cannot reach, a technique error) is
        /// recorded and skipped: one bad point does not end the search.
        var failures: [JSONValue] = []
        func attempt(_ candidate: AutoCompressCandidate, probe: Bool) async throws -> AutoCompressTrial? {
            do { return try await run(candidate, probe: probe) } catch let stop as SearchStop { throw stop } catch {
                if Task.isCancelled { throw error }
                failures.append(["key": .string(candidate.key), "probe": .bool(probe), "error": .string("\(error)")])
                return nil
            }
        }

        do {
            // 1. Latency and size of every structure, from probes built without training.
            var structures: [AutoCompressCandidate] = []
            for target in [nil] + (space.pruneTargets ?? [0.7, 0.5, 0.35]).sorted(by: >).map(Optional.some) {
                for q in (space.quantize ?? true) ? [false, true] : [false] {
                    structures.append(AutoCompressCandidate(pruneTarget: target, quantize: q, epochs: 0))
                }
            }
            var feasible: [AutoCompressCandidate] = []
            for s in structures {
                guard let probe = try await attempt(s, probe: true) else { continue }
                trials.append(probe); AutoCompressTrial.pool(&trials)
                if budgets.structureMet(probe) { feasible.append(s) }
            }
            // Nothing fast enough: score the fastest structures untrained, so the answer can
            // name the closest one.
            if feasible.isEmpty {
                let fastest = trials.sorted { $0.latencyRatio < $1.latencyRatio }.prefix(2).map(\.candidate)
                for s in fastest { if let t = try await attempt(s, probe: false) { trials.append(t); AutoCompressTrial.pool(&trials) } }
            }
            // 2. Feasible structures scored untrained (pruning recalibrates BN; INT8 uses the
            //    full recipe).
            var pool: [(AutoCompressCandidate, Double)] = []
            for s in feasible {
                guard let t = try await attempt(s, probe: false) else { continue }
                trials.append(t)
                AutoCompressTrial.pool(&trials)
                if s.pruneTarget != nil && !budgets.accuracyMet(t, sourceMiou: sourceMiou) { pool.append((s, t.searchMiou ?? 0)) }
            }
            // 3. Fine-tune rungs: each pruned structure still short of the accuracy budget,
            //    the better half going on to the next, longer rung. FP32 and INT8 of one
            //    pruning share their fine-tune through the cache's checkpoints.
            let rungs = space.fineTuneEpochs ?? [1, 3, 8]
            var lastRun: (epochs: Int, seconds: Double)? = nil
            for epochs in rungs {
                guard !pool.isEmpty else { break }
                var next: [(AutoCompressCandidate, Double)] = []
                for (s, _) in pool.sorted(by: { $0.1 > $1.1 }) {
                    var c = s
                    c.epochs = epochs
                    guard let t = try await attempt(c, probe: false) else { continue }
                    trials.append(t)
                    AutoCompressTrial.pool(&trials)
                    lastRun = (epochs, t.seconds)
                    if !budgets.accuracyMet(t, sourceMiou: sourceMiou) { next.append((s, t.searchMiou ?? 0)) }
                }
                pool = Array(next.sorted { $0.1 > $1.1 }.prefix(max(1, (next.count + 1) / 2)))
            }
            // 4. Time left and still short: the best of the last rung trains twice as long,
            //    while its last run's time per epoch says the longer one fits the time left.
            while space.extendRungs ?? true, let (s, _) = pool.first, let last = lastRun, last.epochs > 0 {
                let epochs = last.epochs * 2
                guard deadline.timeIntervalSinceNow > last.seconds / Double(last.epochs) * Double(epochs) * 1.2 else { break }
                var c = s
                c.epochs = epochs
                guard let t = try await attempt(c, probe: false) else { break }
                trials.append(t)
                AutoCompressTrial.pool(&trials)
                lastRun = (epochs, t.seconds)
                if budgets.accuracyMet(t, sourceMiou: sourceMiou) { break }
            }
        } catch SearchStop.timeBudget {
            stoppedBy = "time budget"
        } catch SearchStop.trialBudget {
            stoppedBy = "trial budget"
        } catch where Task.isCancelled {
            stoppedBy = "cancelled"
        }

        // What is left runs even after a cancel: the best model so far is the answer.
        let search = AutoCompressOutcome(trials: trials, models: candidateModels, sourceMiou: sourceMiou, stoppedBy: stoppedBy, measured: measured, failures: failures,
                                         searchSplit: searchSplit, searchImages: searchImages, finalSplit: finalSplit, budgets: budgets)
        let finish = Task { [self] in
            try await finishAutoCompress(p, source: source, sourceBytes: sourceBytes, dataset: dataset, datasetName: datasetName,
                                         search: search, outputPath: outputPath, started: started)
        }
        return try await finish.value
    }

    /// Runs `body`, giving up with `SearchStop.timeBudget` once `deadline` passes (the work is
    /// cancelled: a fine-tune stops at its next step).
    static func withDeadline<T: Sendable>(_ deadline: Date, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                let seconds = max(deadline.timeIntervalSinceNow, 0)
                try await Task.sleep(nanoseconds: UInt64(min(seconds, 1e7) * 1e9))
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
                throw SearchStop.timeBudget
            }
            throw SearchStop.timeBudget
        }
    }
}
