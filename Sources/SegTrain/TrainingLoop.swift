import Foundation
import SegAutodiff
import SegGraph

/// Epochs of optimizer steps with evaluation, best-model tracking, checkpoints, progress and
/// cancellation. The caller supplies the batches, the evaluation (on the compiled runtime,
/// BatchNorm in inference mode) and where checkpoints go; the loop owns the order of events.
package struct TrainingLoop {
    package struct Plan: Sendable {
        /// Run this many epochs, or stop after `maxSteps` optimizer steps (whichever first).
        package var epochs: Int
        package var maxSteps: Int?
        /// Evaluate every K epochs (0: only after the last one; nil: never).
        package var evaluateEvery: Int?
        package init(epochs: Int, maxSteps: Int? = nil, evaluateEvery: Int? = 1) {
            self.epochs = epochs
            self.maxSteps = maxSteps
            self.evaluateEvery = evaluateEvery
        }
    }

    /// A progress event, at most every couple of seconds and at each epoch's end.
    package struct Progress: Sendable {
        package var epoch: Int, epochs: Int
        package var step: Int, totalSteps: Int
        package var loss: Double
        package var learningRate: Float
        package var imagesPerSecond: Double
        package var lastValMiou: Double?
    }

    package struct Outcome {
        package var history: [TrainingHistoryEntry]
        package var stepMilliseconds: [Double]
        package var imagesSeen: Int
        package var bestValMiou: Double?
        package var bestEpoch: Int?
        /// The best model by val mIoU, or the last one when nothing was evaluated.
        package var bestModel: Model
        package var lastModel: Model
        package var cancelled: Bool
        package var durationMs: Double
    }

    package var plan: Plan
    package var evaluate: ((Model) async throws -> Double)?
    package var progress: (Progress) -> Void = { _ in }
    /// Called after each epoch with the trainer, the history and the best model so far
    /// (checkpoints); errors stop the run.
    package var afterEpoch: (Trainer, [TrainingHistoryEntry], Best?) throws -> Void = { _, _, _ in }
    /// Distillation: the teacher's outputs for a batch's images (run in inference, no
    /// gradients), handed to the loss with the student's.
    package var teacher: ((FloatTensor) async throws -> [String: FloatTensor])?

    /// The best model by val mIoU so far.
    package struct Best {
        package var miou: Double
        package var epoch: Int
        package var model: Model
        package init(miou: Double, epoch: Int, model: Model) {
            self.miou = miou
            self.epoch = epoch
            self.model = model
        }
    }

    package init(plan: Plan, evaluate: ((Model) async throws -> Double)?) {
        self.plan = plan
        self.evaluate = evaluate
    }

    /// Trains from `startEpoch` (resume) with `history` so far.
    package func run(_ trainer: Trainer, batches: any TrainingBatches, startEpoch: Int = 0,
                     history previous: [TrainingHistoryEntry] = [], best resumedBest: Best? = nil) async throws -> Outcome {
        let started = Date()
        HeapPolicy.beginTraining()
        defer { HeapPolicy.endTraining() }
        var history = previous
        var stepMs: [Double] = []
        var images = 0
        var best = resumedBest
        var lastReport = Date.distantPast
        let totalSteps = min(plan.maxSteps ?? Int.max, plan.epochs * batches.batchesPerEpoch)
        var cancelled = false
        epochs: for epoch in startEpoch..<plan.epochs {
            var lossSum = 0.0, count = 0, lr: Float = 0
            let epochStart = Date()
            do {
                let iterator = batches.batches(epoch: epoch)
                while let batch = try await iterator.next() {
                    await Task.yield()  // a step is long synchronous work: let other tasks run between steps
                    if Task.isCancelled { cancelled = true; break epochs }
                    let teacherOutputs = try await teacher?(batch.images)
                    let outcome = Self.step(trainer, batch, teacherOutputs: teacherOutputs, epoch: epoch)
                    guard case .success(let stats) = outcome else {
                        if case .failure(.cancelled) = outcome { cancelled = true; break epochs }
                        if case .failure(let error) = outcome { throw error }
                        break epochs
                    }
                    stepMs.append(stats.milliseconds)
                    images += batch.images.dims[0]
                    lossSum += stats.loss
                    count += 1
                    lr = stats.learningRate
                    if Date().timeIntervalSince(lastReport) >= 2 {
                        lastReport = Date()
                        let recent = stepMs.suffix(10)
                        progress(Progress(epoch: epoch + 1, epochs: plan.epochs, step: trainer.stepCount, totalSteps: totalSteps,
                                          loss: stats.loss, learningRate: lr,
                                          imagesPerSecond: Double(batch.images.dims[0]) * 1000 * Double(recent.count) / max(recent.reduce(0, +), 1e-9),
                                          lastValMiou: history.last { $0.valMiou != nil }?.valMiou))
                    }
                    if let maxSteps = plan.maxSteps, trainer.stepCount >= maxSteps { break }
                }
            } catch is CancellationError {
                cancelled = true
                break epochs
            }
            guard count > 0 else { break }
            var entry = TrainingHistoryEntry(epoch: epoch + 1, loss: lossSum / Double(count), learningRate: lr, steps: count,
                                             seconds: Date().timeIntervalSince(epochStart))
            let last = epoch + 1 == plan.epochs || (plan.maxSteps.map { trainer.stepCount >= $0 } ?? false)
            if let every = plan.evaluateEvery, let evaluate, (every > 0 && (epoch + 1) % every == 0) || last {
                let model = try trainer.currentModel()
                let miou = try await evaluate(model)
                entry.valMiou = miou
                if best.map({ miou > $0.miou }) ?? true { best = Best(miou: miou, epoch: epoch + 1, model: model) }
            }
            history.append(entry)
            try afterEpoch(trainer, history, best)
            progress(Progress(epoch: epoch + 1, epochs: plan.epochs, step: trainer.stepCount, totalSteps: totalSteps,
                              loss: entry.loss, learningRate: lr,
                              imagesPerSecond: Double(images) * 1000 / max(stepMs.reduce(0, +), 1e-9), lastValMiou: entry.valMiou))
            if last { break }
        }
        let lastModel = try trainer.currentModel()
        return Outcome(history: history, stepMilliseconds: stepMs, imagesSeen: images, bestValMiou: best?.miou,
                       bestEpoch: best?.epoch, bestModel: best?.model ?? lastModel, lastModel: lastModel,
                       cancelled: cancelled, durationMs: Date().timeIntervalSince(started) * 1000)
    }
}

extension TrainingLoop {
    /// One step, with the epoch put into a non-finite-loss error.
    static func step(_ trainer: Trainer, _ batch: TrainBatch, teacherOutputs: [String: FloatTensor]?,
                     epoch: Int) -> Result<Trainer.StepStats, TrainingError> {
        do {
            return .success(try trainer.step(images: batch.images, labels: batch.labels, teacherOutputs: teacherOutputs,
                                             isCancelled: { Task.isCancelled }))
        } catch {
            if case .nonFiniteLoss(let step, _, let value) = error {
                return .failure(.nonFiniteLoss(step: step, epoch: epoch + 1, value: value))
            }
            return .failure(error)
        }
    }
}

/// One epoch of a run, as the report and the curve show it.
package struct TrainingHistoryEntry: Sendable, Equatable, Codable {
    package var epoch: Int
    package var loss: Double
    package var learningRate: Float
    package var steps: Int
    package var seconds: Double
    package var valMiou: Double?

    package init(epoch: Int, loss: Double, learningRate: Float, steps: Int, seconds: Double, valMiou: Double? = nil) {
        self.epoch = epoch
        self.loss = loss
        self.learningRate = learningRate
        self.steps = steps
        self.seconds = seconds
        self.valMiou = valMiou
    }
}
