import Foundation
import SegAutodiff
import SegData
import SegGraph
import SegImaging
import SegKernels
import SegONNX
import SegPipeline
import SegProtocol
import SegRewrite
import SegTensor
import SegTrain

/// `model/train`: train a copy of a resident model on a dataset or a fixed batch, evaluate
/// it while training, keep the best one resident and write it with its report. The original
/// model is never touched. A cancel writes the best model so far (when an output path was
/// given), never a partial file.
extension ServerCore {
    static let trainMethods: [MethodHandler] = [
        .typed(ModelTrainRequest.self) { params, ctx in try await ctx.core.train(ctx, params) },
    ]

    func train(_ ctx: RequestContext, _ p: ModelTrainRequest.Params) async throws -> ModelTrainRequest.Result {
        let source = try await models.entry(id: p.id)
        let overwrite = p.overwrite ?? false
        let outputPath = try p.outputPath.map { try FilePaths.outputFile($0, field: "params.outputPath", overwrite: overwrite) }
        if let outputPath, FileManager.default.fileExists(atPath: outputPath + ".report.json"), !overwrite {
            throw ResponseError(.outputExists, "params.outputPath: \(outputPath).report.json exists; pass overwrite: true to replace it")
        }
        let setup = try await TrainingSetup.make(p, source: TrainingSource(source), server: self)
        let newID = try await models.reserve(requested: p.newId, base: "\(source.id)-trained")
        do {
            return try await train(ctx, p, source: source, setup: setup, newID: newID, outputPath: outputPath)
        } catch {
            try? await models.finishLoading(newID, entry: nil)
            _ = try? await models.remove(id: newID)
            throw Self.trainingError(error)
        }
    }

    /// Training errors on the wire: the user's data or settings (TrainingFailed, naming the
    /// step or value), cancellation as RequestCancelled.
    static func trainingError(_ error: any Error) -> any Error {
        switch error {
        case let e as TrainingError:
            switch e {
            case .cancelled: return CancellationError()
            case .invalidConfiguration(let why): return ResponseError.invalidParams("params: \(why)")
            case .data(let why): return ResponseError(.datasetError, why)
            default: return ResponseError(.trainingFailed, e.description)
            }
        case let e as AutodiffError:
            return ResponseError(.trainingFailed, e.description)
        default:
            return error
        }
    }

    private func train(_ ctx: RequestContext, _ p: ModelTrainRequest.Params, source: ModelStore.Entry, setup: TrainingSetup,
                       newID: String, outputPath: String?) async throws -> ModelTrainRequest.Result {
        ctx.progress.begin("Training \(source.id) (\(setup.describe))")
        let (outcome, trainer) = try await runTraining(setup, source: TrainingSource(source), p,
                                                       progress: { ctx.progress.report($0, message: $1) })

        var model = outcome.bestModel
        if p.foldBatchNorm ?? false { model = try RewriteManager([FoldBatchNorm()]).run(model).model }
        let sourceBytes = try ONNX.encode(source.model)
        recordProvenance(technique: "train", parameters: (try? ModelTrainRequest.encodeParams(p).jsonString) ?? "",
                         source: source, sourceBytes: sourceBytes, into: &model)
        try await recordDatasetClasses(p.dataset, source: source, into: &model)
        let bytes = try ONNX.encode(model)
        var report = setup.report(outcome, trainer: trainer, source: TrainingSource(source), sourceBytes: sourceBytes.count, trainedBytes: bytes.count)
        let curve = try Self.trainingCurve(outcome.history, title: "Training \(source.id)")
        if let outputPath { report["curve"] = .string(outputPath + ".curve.png") }

        // After a cancel the best model so far is still worth keeping; it is written whole or
        // not at all, then the request answers RequestCancelled.
        if !outcome.cancelled { try Task.checkCancellation() }
        if let outputPath {
            var staged: [OutputFiles.Staged] = []
            do {
                for (data, path) in [(bytes, outputPath), (Array(JSONValue.object(report).jsonString.utf8), outputPath + ".report.json"),
                                     (curve, outputPath + ".curve.png")] {
                    staged.append(try OutputFiles.stage(data, for: path))
                }
            } catch {
                OutputFiles.discard(staged)
                throw error
            }
            try OutputFiles.publish(staged, overwrite: p.overwrite ?? false, field: "params.outputPath")
        }
        if outcome.cancelled { throw CancellationError() }
        let entry = try ResidentModel.make(id: newID, path: outputPath, model: model, fileBytes: Int64(bytes.count), derivedFrom: source.id,
                                           preprocessing: .derived,
                                           cannotRun: { ResponseError(.trainingFailed, "the trained model cannot run: \($0)") })
        try await models.finishLoading(newID, entry: entry)
        if let outputPath { await models.recordFile(FileIdentity(path: outputPath), for: newID) }
        return ModelTrainRequest.Result(id: newID, path: outputPath, report: .object(report))
    }

    /// The training run itself, shared by `model/train` and techniques that train: resume,
    /// evaluation on the compiled runtime, progress lines, checkpoints after each epoch.
    func runTraining(_ setup: TrainingSetup, source: TrainingSource, _ p: ModelTrainRequest.Params,
                     progress: @escaping (Double, String) -> Void) async throws -> (TrainingLoop.Outcome, Trainer) {
        let trainer = try setup.makeTrainer()
        var startEpoch = 0
        var history: [TrainingHistoryEntry] = []
        var best: TrainingLoop.Best? = nil
        if let resume = p.resumeFrom.map(FilePaths.absolute) {
            guard FileManager.default.fileExists(atPath: resume + "/state.json") else {
                throw ResponseError(.fileNotFound, "params.resumeFrom: \(resume) holds no training checkpoint (state.json)")
            }
            let checkpoint = try TrainingCheckpoint.resume(trainer, from: resume)
            startEpoch = checkpoint.epoch
            history = checkpoint.history
            best = try checkpoint.best(in: resume)
        }
        var loop = TrainingLoop(plan: setup.plan, evaluate: setup.evaluation.map { evaluation in
            { [self] model in try await self.validationMiou(model, source: source, dataset: evaluation.dataset, split: evaluation.split) }
        })
        loop.teacher = setup.teacher
        loop.progress = { event in
            let fraction = Double(event.step) / Double(max(1, event.totalSteps))
            var message = "epoch \(event.epoch)/\(event.epochs), step \(event.step)/\(event.totalSteps), loss \(Self.format(event.loss, 4)), lr \(Self.format(Double(event.learningRate), 6)), \(Self.format(event.imagesPerSecond, 1)) img/s"
            if let miou = event.lastValMiou { message += ", val mIoU \(Self.format(miou, 4))" }
            progress(min(1, fraction), message)
        }
        if let directory = p.checkpointDir.map(FilePaths.absolute) {
            loop.afterEpoch = { trainer, history, best in
                try TrainingCheckpoint.write(trainer, history: history, bestModel: best?.model, bestValMiou: best?.miou,
                                             bestEpoch: best?.epoch, to: directory)
            }
        }
        let outcome = try await loop.run(trainer, batches: setup.batches, startEpoch: startEpoch, history: history, best: best)
        return (outcome, trainer)
    }

    /// Val mIoU of a model in training, on the compiled runtime (BatchNorm in inference mode).
    func validationMiou(_ model: Model, source: TrainingSource, dataset: Dataset, split: String) async throws -> Double {
        var model = model
        for (k, v) in source.preprocessing?.metadata ?? [:] where model.metadata[k] == nil { model.metadata[k] = v }
        let entry = try ResidentModel.make(id: "\(source.id)-training", path: nil, model: model, fileBytes: 0, derivedFrom: source.id,
                                           preprocessing: .derived,
                                           cannotRun: { ResponseError(.trainingFailed, "the model in training cannot run: \($0)") })
        let quiet = ProgressReporter(token: nil, writer: nil)
        return try await evaluation(entry, dataset, split: split, limit: nil, keepMasks: false, progress: quiet, label: entry.id).metrics.miou
    }

    /// Loss and val mIoU per epoch as a PNG (the report's picture of how training went).
    static func trainingCurve(_ history: [TrainingHistoryEntry], title: String) throws -> [UInt8] {
        let loss = LineChart.Series(name: "loss", points: history.map { (Double($0.epoch), $0.loss) }, color: RGB(200, 60, 40))
        let miou = history.compactMap { e in e.valMiou.map { (x: Double(e.epoch), y: $0) } }
        let chart = LineChart(title: title, xLabel: "epoch", left: loss,
                              right: miou.isEmpty ? nil : LineChart.Series(name: "val mIoU", points: miou, color: RGB(40, 90, 200)))
        return try PNG.encode(try chart.render())
    }

    static func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
}
