import Foundation
import SegGraph
import SegONNX
import SegPipeline
import SegProtocol
import SegReference
import SegTechnique

/// `model/compress` and `model/pipeline`: run techniques on a resident model, keep the
/// result resident beside the original (which is never touched), write it and its report.
extension ServerCore {
    // Params are decoded and validated through their message types here; the bodies below
    // still read the validated fields through a ParamReader (technique inputs are being
    // reworked separately).
    static let compressMethods: [MethodHandler] = [
        MethodHandler(method: ModelCompressRequest.method) { ctx in
            let typed = try ModelCompressRequest.decodeParams(ctx.params)
            let step = (technique: typed.technique, params: typed.params ?? [:])
            return try ModelCompressRequest.encodeResult(try await ctx.core.compress(ctx, try ParamReader(ctx.params), steps: [step]))
        },
        MethodHandler(method: ModelPipelineRequest.method) { ctx in
            let typed = try ModelPipelineRequest.decodeParams(ctx.params)
            let steps = (typed.steps ?? []).map { (technique: $0.technique, params: $0.params ?? [:]) }
            return try ModelPipelineRequest.encodeResult(try await ctx.core.compress(ctx, try ParamReader(ctx.params), steps: steps))
        },
        MethodHandler(method: ModelSensitivityRequest.method) { ctx in
            _ = try ModelSensitivityRequest.decodeParams(ctx.params)
            return try await ctx.core.sensitivity(ctx, try ParamReader(ctx.params))
        },
    ]

    /// `model/sensitivity`: per layer, the score with only that layer compressed.
    func sensitivity(_ ctx: RequestContext, _ p: ParamReader) async throws -> JSONValue {
        let source = try await models.entry(id: try p.string("id"))
        let id = try p.string("technique")
        let technique: any Technique
        do { technique = try registry.make(id: id, parameters: p.fields["params"] ?? [:]) } catch {
            throw ResponseError.technique(error, technique: id)
        }
        guard let analyzer = technique as? any SensitivityAnalyzing else {
            throw ResponseError.invalidParams("params.technique: '\(id)' has no per-layer sensitivity analysis")
        }
        guard p.fields["dataset"] != nil else {
            throw ResponseError.invalidParams("params.dataset: required (a labelled dataset to score each layer on)")
        }
        let limit = try p.optionalInt("limit", range: 1...1_000_000).map { Int($0) }
        let threads = try p.optionalInt("threads", range: 1...256).map { Int($0) }
        let inputs = try await techniqueInputs(p, source: source, threads: threads)
        guard inputs.accuracy != nil else {
            throw ResponseError(.datasetError, "params.split: the split has no labelled images to score on")
        }
        ctx.progress.begin("Sensitivity of \(source.id) to \(id)")
        let started = Date()
        let context = TechniqueContext(progress: { fraction, message in ctx.progress.report(fraction, message: message) },
                                       samples: inputs.samples, accuracy: inputs.accuracy, threads: threads,
                                       runner: TechniqueRunner(threads: threads, ledger: models.transientPlans))
        let report: SensitivityReport
        do { report = try await analyzer.sensitivity(of: source.model, in: context, limit: limit) } catch {
            throw ResponseError.technique(error, technique: id)
        }
        guard case .object(var json) = report.json else { return report.json }
        json["id"] = .string(source.id)
        json["technique"] = .string(id)
        json["data"] = inputs.json
        json["durationMs"] = .double(Self.ms(Date().timeIntervalSince(started) * 1000))
        let assumed = source.preprocessing.map { Self.defaultWarnings($0, model: source.id, namesShown: false) } ?? []
        if !assumed.isEmpty { json["warnings"] = .array(assumed.map(JSONValue.string)) }
        return .object(json)
    }

    /// Size, parameters, MACs and op counts of a model, for reports.
    static func footprint(_ model: Model, encodedBytes: Int) throws -> JSONValue {
        let summary = ModelSummary(model: model, inference: try ShapeInference(model: model))
        return [
            "sizeBytes": .int(Int64(encodedBytes)), "params": .int(Int64(summary.parameters)), "macs": .int(Int64(summary.macs)),
            "nodes": .int(Int64(model.graph.nodes.count)),
            "opCounts": .object(summary.opCounts.mapValues { .int(Int64($0)) }),
        ]
    }

    func compress(_ ctx: RequestContext, _ p: ParamReader, steps: [(technique: String, params: JSONValue)]) async throws -> CompressResult {
        let source = try await models.entry(id: try p.string("id"))
        // Validate everything before doing any work: parameters, output path, new id.
        var techniques: [(String, JSONValue, any Technique)] = []
        for (i, s) in steps.enumerated() {
            do { techniques.append((s.technique, s.params, try registry.make(id: s.technique, parameters: s.params))) } catch {
                throw ResponseError.technique(error, technique: s.technique, field: steps.count == 1 ? "params" : "params.steps[\(i)]")
            }
        }
        let overwrite = try p.optionalBool("overwrite") ?? false
        let outputPath = try p.optionalString("outputPath").map { try FilePaths.outputFile($0, field: "params.outputPath", overwrite: overwrite) }
        if let outputPath, FileManager.default.fileExists(atPath: outputPath + ".report.json"), !overwrite {
            throw ResponseError(.outputExists, "params.outputPath: \(outputPath).report.json exists; pass overwrite: true to replace it")
        }
        let label = steps.map(\.technique).joined(separator: "+")
        let newID = try await models.reserve(requested: try p.optionalString("newId"), base: "\(source.id)-\(label)")
        do {
            return try await compress(ctx, p, source: source, techniques: techniques, steps: steps, label: label, newID: newID, outputPath: outputPath)
        } catch {
            // Free the reserved id (requests waiting for it get ModelNotFound) and drop a model
            // registered before a later step (evaluation, writing) failed.
            try? await models.finishLoading(newID, entry: nil)
            _ = try? await models.remove(id: newID)
            throw error
        }
    }

    private func compress(_ ctx: RequestContext, _ p: ParamReader, source: ModelStore.Entry, techniques: [(String, JSONValue, any Technique)],
                          steps: [(technique: String, params: JSONValue)], label: String, newID: String, outputPath: String?) async throws -> CompressResult {

        ctx.progress.begin("Compressing \(source.id) with \(label)")
        let started = Date()
        let threads = try p.optionalInt("threads", range: 1...256).map { Int($0) }
        let inputs = try await techniqueInputs(p, source: source, threads: threads)
        let applied = try await applySteps(techniques, to: source.model, source: source, dataset: try p.optionalString("dataset"),
                                           inputs: inputs, threads: threads) { fraction, message in
            ctx.progress.report(fraction, message: message)
        }
        // A dry run reports what would happen and changes nothing: no model, no files.
        if applied.dryRun {
            try await models.finishLoading(newID, entry: nil)
            return CompressResult(id: nil, path: nil, dryRun: true,
                                  report: ["technique": .string(label), "steps": .array(applied.details), "dryRun": true,
                                           "before": try Self.footprint(source.model, encodedBytes: try ONNX.encode(source.model).count)])
        }
        var model = applied.model
        let budgetMisses = applied.budgetMisses
        let details = applied.details
        try Task.checkCancellation()

        // Record how it was made, and keep the preprocessing so it segments the same way.
        let sourceBytes = try ONNX.encode(source.model)
        recordProvenance(technique: label,
                         parameters: JSONValue.array(steps.map { ["technique": .string($0.technique), "params": $0.params] }).jsonString,
                         source: source, sourceBytes: sourceBytes, into: &model)
        try await recordDatasetClasses(try p.optionalString("dataset"), source: source, into: &model)
        let bytes = try ONNX.encode(model)
        let entry = try ResidentModel.make(id: newID, path: outputPath, model: model, fileBytes: Int64(bytes.count), derivedFrom: source.id,
                                           preprocessing: .derived,
                                           cannotRun: { ResponseError(.techniqueFailed, "the compressed model cannot run: \($0)") })
        var report: [String: JSONValue] = [
            "technique": .string(label), "steps": .array(details),
            "source": ["id": .string(source.id), "path": source.path.map(JSONValue.string) ?? .null, "sha256": .string(SHA256.hex(sourceBytes))],
            "before": try Self.footprint(source.model, encodedBytes: sourceBytes.count),
            "after": try Self.footprint(model, encodedBytes: bytes.count),
            "sizeRatio": .double(Double(bytes.count) / Double(max(sourceBytes.count, 1))),
            "durationMs": .double(Self.ms(Date().timeIntervalSince(started) * 1000)),
            "toolVersion": .string(SegSlimVersion.current),
            "data": inputs.json,
        ]
        if !budgetMisses.isEmpty { report["budgetMisses"] = .array(budgetMisses) }
        try await models.finishLoading(newID, entry: entry)

        // Speed on our runtime, side by side (0 runs: skipped; a model whose shapes cannot be
        // chosen is reported as such rather than failing the compression).
        let benchmarkRuns = Int(try p.optionalInt("benchmarkRuns", range: 0...10_000) ?? 10)
        if benchmarkRuns > 0 {
            do { report["latency"] = try Self.latencyComparison(source, entry, runs: benchmarkRuns, threads: threads) } catch {
                // A cancel surfaces from the runtime as its own error: not a skipped benchmark.
                if Task.isCancelled { throw CancellationError() }
                report["latency"] = ["skipped": .string("\(error)")]
            }
        }

        // Accuracy, when a labelled dataset is given: both models on the same split.
        if let datasetName = try p.optionalString("dataset"), try p.optionalBool("evaluate") ?? true {
            let (_, dataset) = try await dataset(datasetName)
            let split = try p.optionalString("split") ?? (dataset.splits["val"] != nil ? "val" : dataset.splitNames.first ?? "val")
            let quiet = ProgressReporter(token: nil, writer: nil)
            let before = try await evaluation(source, dataset, split: split, limit: nil, keepMasks: false, progress: quiet, label: source.id)
            let after = try await evaluation(entry, dataset, split: split, limit: nil, keepMasks: false, progress: quiet, label: newID)
            report["evaluation"] = [
                "split": .string(split),
                "before": Self.evaluationJSON(before, classes: dataset.classes),
                "after": Self.evaluationJSON(after, classes: dataset.classes),
                "miouDrop": .double(before.metrics.miou - after.metrics.miou),
            ]
        }
        // Images went through preprocessing the source never stated: say so where the numbers are.
        if inputs.samples != nil || inputs.accuracy != nil || report["evaluation"] != nil, let pre = source.preprocessing {
            let assumed = Self.defaultWarnings(pre, model: source.id, namesShown: false)
            if !assumed.isEmpty { report["warnings"] = .array(assumed.map(JSONValue.string)) }
        }
        let reportJSON = JSONValue.object(report)
        // Nothing is published after a cancel, however late it came.
        try Task.checkCancellation()
        if let outputPath {
            // The model and its report appear together or not at all, and (without overwrite)
            // never replace a file created while the technique ran.
            let model = try OutputFiles.stage(bytes, for: outputPath)
            let report: OutputFiles.Staged
            do { report = try OutputFiles.stage(Array(reportJSON.jsonString.utf8), for: outputPath + ".report.json") } catch {
                OutputFiles.discard([model])
                throw error
            }
            try OutputFiles.publish([model, report], overwrite: try p.optionalBool("overwrite") ?? false, field: "params.outputPath")
            await models.recordFile(FileIdentity(path: outputPath), for: newID)
        }
        return CompressResult(id: newID, path: outputPath, report: reportJSON)
    }

    /// What running techniques in order made: the model, each step's details, and the budgets
    /// a step could not meet; `dryRun` when a step only reported what it would do (the model is
    /// then the one before it).
    struct AppliedSteps {
        var model: Model
        var details: [JSONValue]
        var budgetMisses: [JSONValue]
        var dryRun = false
    }

    /// Runs `techniques` in order from `start`, each on the previous one's result: the body of
    /// `model/compress` and `model/pipeline`, and of every candidate an auto-compression tries.
    func applySteps(_ techniques: [(String, JSONValue, any Technique)], to start: Model, source: ModelStore.Entry, dataset: String?,
                    inputs: TechniqueInputs, threads: Int?, progress: @escaping @Sendable (Double, String) -> Void) async throws -> AppliedSteps {
        var out = AppliedSteps(model: start, details: [], budgetMisses: [])
        let stepCount = Double(techniques.count)
        let runner = TechniqueRunner(threads: threads, ledger: models.transientPlans)
        for (i, (name, params, technique)) in techniques.enumerated() {
            try Task.checkCancellation()
            let context = TechniqueContext(progress: { fraction, message in
                progress((Double(i) + fraction) / stepCount, "\(name): \(message)")
            }, samples: inputs.samples, accuracy: inputs.accuracy, threads: threads, runner: runner,
               trainer: dataset.map {
                   TechniqueTrainer(server: self, dataset: $0, threads: threads, sourceID: source.id, preprocessing: source.preprocessing)
               })
            let result: TechniqueResult
            do { result = try await technique.apply(to: out.model, in: context) } catch {
                throw ResponseError.technique(error, technique: name, field: techniques.count == 1 ? "params" : "params.steps[\(i)]")
            }
            out.details.append(["technique": .string(name), "parameters": params, "details": result.details])
            out.budgetMisses += result.budgetMisses.map { miss in
                ["technique": .string(name), "parameter": .string(miss.parameter), "limit": .double(miss.limit),
                 "achieved": .double(miss.achieved), "note": .string(miss.note)]
            }
            if result.dryRun { out.dryRun = true; return out }
            out.model = result.model
        }
        try Task.checkCancellation()
        return out
    }
}
