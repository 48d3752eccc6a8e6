import Foundation
import SegGraph
import SegONNX
import SegPipeline
import SegProtocol
import SegTechnique
import SegTrain

/// `TechniqueContext.trainer`: the training engine bound to a compress request's dataset,
/// threads and the source model's preprocessing. Runs exactly what `model/train` runs.
struct TechniqueTrainer: ModelTraining {
    let server: ServerCore
    let dataset: String
    let threads: Int?
    let sourceID: String
    let preprocessing: Preprocessing?

    func loadStudent(_ path: String) throws -> Model {
        let absolute = FilePaths.absolute(path)
        guard FileManager.default.fileExists(atPath: absolute) else {
            throw ResponseError(.fileNotFound, "student: \(absolute) does not exist")
        }
        do { return try ONNX.load(contentsOf: URL(fileURLWithPath: absolute)) } catch {
            throw ModelErrors.response(for: error, file: absolute)
        }
    }

    func train(_ model: Model, recipe: ModelTrainRequest.Params,
               progress: @escaping @Sendable (Double, String) -> Void) async throws -> TrainedModel {
        var p = recipe
        p.dataset = dataset
        p.inputs = nil
        p.labels = nil
        // A technique's checkpoint folder resumes itself: the same request run again after a
        // cancel continues where it stopped (a folder from another model is refused by name).
        p.checkpointDir = p.checkpointDir.map(FilePaths.absolute)
        p.resumeFrom = p.checkpointDir.flatMap { FileManager.default.fileExists(atPath: $0 + "/state.json") ? $0 : nil }
        p.threads = p.threads ?? threads
        do { try p.validate() } catch { throw ResponseError.invalidParams("training recipe: \(error.message)") }
        let source = TrainingSource(id: "\(sourceID) (in a technique)", path: nil, model: model, preprocessing: preprocessing)
        do {
            let setup = try await TrainingSetup.make(p, source: source, server: server)
            let (outcome, trainer) = try await server.runTraining(setup, source: source, p, progress: progress)
            if outcome.cancelled { throw CancellationError() }
            var report = setup.report(outcome, trainer: trainer, source: source, sourceBytes: 0, trainedBytes: 0)
            report["sizeBytes"] = nil
            return TrainedModel(model: outcome.bestModel, report: .object(report))
        } catch {
            throw ServerCore.trainingError(error)
        }
    }
}
