import Foundation
import SegAutodiff
import SegGraph
import SegONNX
import SegTensor

/// A resumable snapshot of a run, as a folder: `model.onnx` (current weights and BatchNorm
/// statistics), `optimizer.onnx` (the optimizer's buffers as initializers of an empty graph:
/// our own codec carries them, no second format), `best.onnx` (the best model by val mIoU so
/// far) and `state.json` (epoch, step, history). Each file is written beside its final name
/// and renamed over it; `state.json` goes last, so a folder whose state is readable has every
/// file that state refers to.
package struct TrainingCheckpoint: Sendable, Codable, Equatable {
    package var epoch: Int
    package var step: Int
    package var history: [TrainingHistoryEntry]
    package var optimizerKind: String
    package var optimizerStep: Int
    package var bestValMiou: Double?
    package var bestEpoch: Int?

    static let temporaryPrefix = ".segslim-tmp-"
    static let auxiliaryPrefix = "auxiliary/"

    package static func write(_ trainer: Trainer, history: [TrainingHistoryEntry], bestModel: Model?, bestValMiou: Double?,
                              bestEpoch: Int?, to directory: String) throws(TrainingError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try replace(ONNX.encode(trainer.currentModel()), at: directory + "/model.onnx")
            let state = trainer.optimizer.state
            var graph = Graph(name: "optimizer-state")
            for (name, buffer) in state.buffers.sorted(by: { $0.key < $1.key }) {
                graph.initializers[name] = try Tensor(dims: [buffer.count], scalars: buffer)
            }
            // The losses' own parameters (distillation adapters) are not in the model.
            for name in trainer.auxiliaryNames {
                guard let v = trainer.values[name] else { continue }
                graph.initializers[auxiliaryPrefix + name] = try Tensor(dims: v.dims, scalars: v.scalars)
            }
            try replace(ONNX.encode(Model(graph: graph, opsetImports: [OpsetImport(domain: "", version: 17)])), at: directory + "/optimizer.onnx")
            if let bestModel { try replace(ONNX.encode(bestModel), at: directory + "/best.onnx") }
            let checkpoint = TrainingCheckpoint(epoch: history.last?.epoch ?? 0, step: trainer.stepCount, history: history,
                                                optimizerKind: state.kind, optimizerStep: state.step,
                                                bestValMiou: bestValMiou, bestEpoch: bestEpoch)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try replace(Array(try encoder.encode(checkpoint)), at: directory + "/state.json")
        } catch let error as TrainingError {
            throw error
        } catch {
            throw .checkpoint("cannot write \(directory): \(error)")
        }
    }

    /// The best model a checkpoint folder kept, with its score and epoch (nil when none).
    package func best(in directory: String) throws(TrainingError) -> TrainingLoop.Best? {
        guard let miou = bestValMiou, let epoch = bestEpoch else { return nil }
        do {
            return TrainingLoop.Best(miou: miou, epoch: epoch, model: try ONNX.load(contentsOf: URL(fileURLWithPath: directory + "/best.onnx")))
        } catch {
            throw .checkpoint("\(directory)/best.onnx: \(error)")
        }
    }

    /// Reads a checkpoint folder and loads its weights and optimizer state into `trainer`.
    package static func resume(_ trainer: Trainer, from directory: String) throws(TrainingError) -> TrainingCheckpoint {
        let checkpoint: TrainingCheckpoint
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/state.json"))
            checkpoint = try JSONDecoder().decode(TrainingCheckpoint.self, from: data)
        } catch {
            throw .checkpoint("\(directory)/state.json cannot be read (\(error)); is this a training checkpoint folder?")
        }
        let weights: Model, optimizer: Model
        do {
            weights = try ONNX.load(contentsOf: URL(fileURLWithPath: directory + "/model.onnx"))
            optimizer = try ONNX.load(contentsOf: URL(fileURLWithPath: directory + "/optimizer.onnx"))
        } catch {
            throw .checkpoint("\(directory): \(error)")
        }
        var values: [String: FloatTensor] = [:]
        for name in trainer.parameters.names + trainer.parameters.state {
            guard let t = weights.graph.initializers[name] else {
                throw .checkpoint("\(directory)/model.onnx has no '\(name)': the checkpoint belongs to another model")
            }
            do { values[name] = try FloatTensor(t, name: name) } catch { throw .autodiff(error) }
        }
        try trainer.load(values: values, stepCount: checkpoint.step)
        var buffers: [String: [Float]] = [:]
        var auxiliary: [String: FloatTensor] = [:]
        for (name, t) in optimizer.graph.initializers {
            do {
                if name.hasPrefix(auxiliaryPrefix) {
                    auxiliary[String(name.dropFirst(auxiliaryPrefix.count))] = try FloatTensor(t, name: name)
                } else {
                    buffers[name] = try FloatTensor(t, name: name).scalars
                }
            } catch { throw .autodiff(error) }
        }
        let missing = trainer.auxiliaryNames.filter { auxiliary[$0] == nil }
        guard missing.isEmpty else {
            throw .checkpoint("\(directory)/optimizer.onnx has no \(missing.joined(separator: ", ")): the checkpoint was trained with other losses")
        }
        if !auxiliary.isEmpty { try trainer.load(values: auxiliary, stepCount: checkpoint.step) }
        try trainer.optimizer.restore(OptimizerState(kind: checkpoint.optimizerKind, step: checkpoint.optimizerStep, buffers: buffers))
        return checkpoint
    }

    private static func replace(_ bytes: [UInt8], at path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(temporaryPrefix + url.lastPathComponent)
        try Data(bytes).write(to: temporary)
        if rename(temporary.path, path) != 0 {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw TrainingError.checkpoint("cannot replace \(path): \(String(cString: strerror(code)))")
        }
    }
}
