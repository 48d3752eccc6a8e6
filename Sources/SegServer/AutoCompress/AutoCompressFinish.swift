import Foundation
import SegData
import SegImaging
import SegONNX
import SegPipeline
import SegProtocol

extension ServerCore {
    /// Picks the answer of a search (the best model meeting every budget, else the closest,
    /// flagged), scores it and the source on the final split, makes it resident, and writes it
    /// with its report and Pareto plot.
    func finishAutoCompress(_ p: ModelAutoCompressRequest.Params, source: ModelStore.Entry, sourceBytes: [UInt8], dataset: Dataset,
                            datasetName: String, search: AutoCompressOutcome, outputPath: String?, started: Date) async throws -> CompressResult {
        let budgets = search.budgets
        guard let (chosen, meets) = budgets.choose(search.trials, sourceMiou: search.sourceMiou),
              let bytes = search.models[chosen.candidate.key] else {
            let failed = search.failures.prefix(3).compactMap { f in f["error"]?.stringValue.map { "\(f["key"]?.stringValue ?? "?"): \($0)" } }
            throw ResponseError(.techniqueFailed, "the search stopped (\(search.stoppedBy)) before any candidate was scored; nothing to return"
                                + (failed.isEmpty ? " (give more time: params.timeBudgetMinutes)" : "; candidates failed: " + failed.joined(separator: "; ")))
        }
        var model = try ONNX.decode(bytes)
        let recipe: JSONValue = [
            "method": .string(ModelPipelineRequest.method),
            "params": ["id": .string(source.id), "dataset": .string(p.dataset), "split": .string(search.searchSplit),
                       "calibration": ["split": .string(search.searchSplit)],
                       "steps": .array(chosen.steps.map { ["technique": .string($0.technique), "params": $0.params ?? [:]] })],
        ]
        recordProvenance(technique: "autocompress", parameters: recipe.jsonString, source: source, sourceBytes: sourceBytes, into: &model)
        let finalBytes = try ONNX.encode(model)
        let newID = try await models.reserve(requested: p.newId, base: "\(source.id)-auto")
        do {
            let entry = try ResidentModel.make(id: newID, path: outputPath, model: model, fileBytes: Int64(finalBytes.count), derivedFrom: source.id,
                                               preprocessing: .derived,
                                               cannotRun: { ResponseError(.techniqueFailed, "the chosen model cannot run: \($0)") })
            // The final split, seen by nothing before: both models, all of its images.
            let quiet = ProgressReporter(token: nil, writer: nil)
            let before = try await evaluation(source, dataset, split: search.finalSplit, limit: nil, keepMasks: false, progress: quiet, label: source.id)
            let after = try await evaluation(entry, dataset, split: search.finalSplit, limit: nil, keepMasks: false, progress: quiet, label: newID)
            let finalDrop = before.metrics.miou - after.metrics.miou
            try await models.finishLoading(newID, entry: entry)

            let front = AutoCompressBudgets.paretoFront(search.trials)
            var chosenJSON = chosen.json.objectValue ?? [:]
            chosenJSON["meetsBudgets"] = .bool(meets)
            chosenJSON["searchMiouDrop"] = .double(search.sourceMiou - (chosen.searchMiou ?? 0))
            chosenJSON["recipe"] = recipe
            chosenJSON["final"] = [
                "split": .string(search.finalSplit), "sourceMiou": .double(before.metrics.miou), "miou": .double(after.metrics.miou),
                "miouDrop": .double(finalDrop), "meetsAccuracyBudget": .bool(finalDrop <= budgets.maxMiouDrop + 1e-12),
                "source": Self.evaluationJSON(before, classes: dataset.classes), "chosen": Self.evaluationJSON(after, classes: dataset.classes),
            ]
            if !meets {
                chosenJSON["flagged"] = .string("no candidate met every budget; this is the closest found (\(Self.misses(chosen, budgets, search.sourceMiou)))")
            }
            var budgetJSON: [String: JSONValue] = ["maxMiouDrop": .double(budgets.maxMiouDrop)]
            if let r = budgets.maxLatencyRatio { budgetJSON["maxLatencyRatio"] = .double(r) }
            if let ms = budgets.maxLatencyMs { budgetJSON["maxLatencyMs"] = .double(ms) }
            if let s = budgets.maxSizeRatio { budgetJSON["maxSizeRatio"] = .double(s) }
            var report: [String: JSONValue] = [
                "technique": "autocompress",
                "source": ["id": .string(source.id), "path": source.path.map(JSONValue.string) ?? .null, "sha256": .string(SHA256.hex(sourceBytes)),
                           "searchMiou": .double(search.sourceMiou), "sizeBytes": .int(Int64(sourceBytes.count))],
                "budgets": .object(budgetJSON),
                "splits": ["search": .string(search.searchSplit), "searchImages": .int(Int64(search.searchImages)), "final": .string(search.finalSplit)],
                "chosen": .object(chosenJSON),
                "trials": .array(search.trials.map(\.json)),
                "pareto": .array(front.map { .string($0.candidate.key) }),
                "stoppedBy": .string(search.stoppedBy),
                "failures": .array(search.failures),
                "trialsMeasured": .int(Int64(search.measured)),
                "trialsCached": .int(Int64(search.trials.filter(\.cached).count)),
                "before": try Self.footprint(source.model, encodedBytes: sourceBytes.count),
                "after": try Self.footprint(model, encodedBytes: finalBytes.count),
                "durationMs": .double(Self.ms(Date().timeIntervalSince(started) * 1000)),
                "toolVersion": .string(SegSlimVersion.current),
            ]
            if let outputPath {
                report["plot"] = .string(outputPath + ".pareto.png")
                let png = try PNG.encode(try Self.paretoChart(search, chosen: chosen, front: front).render())
                let files = [try OutputFiles.stage(finalBytes, for: outputPath),
                             try OutputFiles.stage(Array(JSONValue.object(report).jsonString.utf8), for: outputPath + ".report.json"),
                             try OutputFiles.stage(png, for: outputPath + ".pareto.png", durable: false)]
                try OutputFiles.publish(files, overwrite: p.overwrite ?? false, field: "params.outputPath")
                await models.recordFile(FileIdentity(path: outputPath), for: newID)
            }
            return CompressResult(id: newID, path: outputPath, report: .object(report))
        } catch {
            try? await models.finishLoading(newID, entry: nil)
            _ = try? await models.remove(id: newID)
            throw error
        }
    }

    static func misses(_ t: AutoCompressTrial, _ b: AutoCompressBudgets, _ sourceMiou: Double) -> String {
        var out: [String] = []
        if !b.latencyMet(t) {
            out.append(b.maxLatencyRatio.map { String(format: "latency %.3f× > %.3f×", t.latencyRatio, $0) }
                       ?? String(format: "latency %.2f ms > %.2f ms", t.expectedLatencyMs, b.maxLatencyMs ?? 0))
        }
        if !b.sizeMet(t) { out.append(String(format: "size %.3f× > %.3f×", t.sizeRatio, b.maxSizeRatio ?? 0)) }
        if !b.accuracyMet(t, sourceMiou: sourceMiou) {
            out.append(String(format: "mIoU drop %.4f > %.4f on the search split", sourceMiou - (t.searchMiou ?? 0), b.maxMiouDrop))
        }
        return out.joined(separator: ", ")
    }

    /// Latency ratio × search mIoU of every scored candidate, FP32 and INT8 apart, the front
    /// joined, the chosen one ringed, the budgets drawn.
    static func paretoChart(_ search: AutoCompressOutcome, chosen: AutoCompressTrial, front: [AutoCompressTrial]) -> ScatterChart {
        let scored = search.trials.filter { !$0.probe && $0.searchMiou != nil }
        func points(_ int8: Bool) -> [(x: Double, y: Double)] {
            scored.filter { $0.candidate.quantize == int8 }.map { ($0.latencyRatio, $0.searchMiou!) }
        }
        var chart = ScatterChart(title: "Auto-compression: latency vs mIoU (\(search.searchSplit))", xLabel: "latency / source",
                                 yLabel: "mIoU", groups: [
                                    .init(name: "FP32", points: points(false), color: RGB(40, 110, 200)),
                                    .init(name: "INT8", points: points(true), color: RGB(230, 140, 30)),
                                    .init(name: "source", points: [(1, search.sourceMiou)], color: RGB(60, 60, 60)),
                                 ])
        chart.front = front.map { ($0.latencyRatio, $0.searchMiou!) }
        chart.chosen = (chosen.latencyRatio, chosen.searchMiou ?? 0)
        if let r = search.budgets.maxLatencyRatio { chart.xBudget = (r, "max latency") }
        chart.yBudget = (search.sourceMiou - search.budgets.maxMiouDrop, "mIoU floor")
        return chart
    }
}
