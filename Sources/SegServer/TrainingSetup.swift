import Foundation
import SegAutodiff
import SegData
import SegGraph
import SegKernels
import SegPipeline
import SegProtocol
import SegTensor
import SegTrain

/// What is trained: a resident model, or a technique's intermediate model (no file, no id of
/// its own beyond a label).
struct TrainingSource: Sendable {
    var id: String
    var path: String?
    var model: Model
    var preprocessing: Preprocessing?

    init(_ entry: ModelStore.Entry) {
        self.init(id: entry.id, path: entry.path, model: entry.model, preprocessing: entry.preprocessing)
    }

    init(id: String, path: String?, model: Model, preprocessing: Preprocessing?) {
        self.id = id
        self.path = path
        self.model = model
        self.preprocessing = preprocessing
    }
}

/// A `model/train` request turned into engine objects: what trains, on which batches, with
/// which optimizer, schedule and loss, evaluated where. Everything a request can get wrong
/// is checked here, before any work starts.
struct TrainingSetup: @unchecked Sendable {
    let model: Model
    let parameters: TrainableParameters
    let batches: any TrainingBatches
    let plan: TrainingLoop.Plan
    let totalSteps: Int
    let makeOptimizer: () -> any Optimizer
    let schedule: LearningRateSchedule
    let loss: any TrainingLoss
    let clipNorm: Float?
    let options: TrainingOptions
    let kernels: KernelContext
    let evaluation: (dataset: Dataset, split: String)?
    let describe: String
    let params: ModelTrainRequest.Params
    /// The teacher's outputs per batch when distilling.
    let teacher: ((FloatTensor) async throws -> [String: FloatTensor])?

    static func make(_ p: ModelTrainRequest.Params, source: TrainingSource, server: ServerCore) async throws -> TrainingSetup {
        let parameters = TrainableParameters(model: source.model, freeze: p.freeze ?? [], quantizationScales: p.trainQuantizationScales ?? false)
        guard !parameters.names.isEmpty else {
            throw ResponseError(.trainingFailed, parameters.frozen.isEmpty
                ? "model '\(source.id)' has no trainable parameters (float weights, biases or norm scales)"
                : "params.freeze: every trainable parameter (\(parameters.frozen.count)) is frozen")
        }
        let ignore = Int32(p.ignoreIndex ?? 255)
        let batches: any TrainingBatches
        var evaluation: (Dataset, String)? = nil
        if let inputs = p.inputs, let labels = p.labels {
            batches = FixedBatch(try fixedBatch(images: inputs, labels: labels, ignoreIndex: ignore))
        } else if let name = p.dataset {
            let (_, dataset) = try await server.dataset(name)
            let split = p.split ?? "train"
            let (loader, _) = try DatasetBatches.make(p, dataset: dataset, split: split, preprocessing: source.preprocessing)
            batches = loader
            let evalSplit = p.evalSplit ?? "val"
            if p.evalEvery != nil || dataset.splits[evalSplit] != nil {
                guard dataset.splits[evalSplit] != nil else {
                    throw ResponseError(.datasetError, "params.evalSplit: no split '\(evalSplit)' in \(dataset.root) (splits: \(dataset.splitNames.joined(separator: ", ")))")
                }
                evaluation = (dataset, evalSplit)
            }
        } else {
            throw ResponseError.invalidParams("params.dataset: required (or a fixed batch: inputs and labels)")
        }
        guard batches.batchesPerEpoch > 0 else {
            throw ResponseError(.datasetError, "params.batchSize: \(p.batchSize ?? 8) is more than the split has images")
        }
        let epochs = p.steps.map { ($0 + batches.batchesPerEpoch - 1) / batches.batchesPerEpoch } ?? (p.epochs ?? 1)
        let totalSteps = p.steps ?? epochs * batches.batchesPerEpoch
        let optimizerName = p.optimizer ?? "adamw"
        let lr = Float(p.lr ?? (optimizerName == "sgd" ? 1e-2 : 2e-3))
        let decay = WeightDecayPolicy(rate: Float(p.weightDecay ?? 1e-4), decayNormsAndBiases: p.decayNormsAndBiases ?? false)
        let momentum = Float(p.momentum ?? 0.9), nesterov = p.nesterov ?? false
        let makeOptimizer: () -> any Optimizer = optimizerName == "sgd"
            ? { SGD(momentum: momentum, nesterov: nesterov, weightDecay: decay) }
            : { AdamW(weightDecay: decay) }
        let kind: LearningRateSchedule.Kind
        switch p.schedule ?? "cosine" {
        case "constant": kind = .constant
        case "step": kind = .step(stepSize: p.stepSize ?? max(1, totalSteps / 3), gamma: Float(p.gamma ?? 0.1))
        case "poly": kind = .poly(power: Float(p.power ?? 0.9), endLR: 0)
        default: kind = .cosine(minLR: 0)
        }
        let schedule = LearningRateSchedule(kind, baseLR: lr, totalSteps: totalSteps, warmupSteps: p.warmupSteps ?? 0)
        let weights = p.classWeights?.map { Float($0) }
        let taskLoss: any TrainingLoss
        switch p.loss ?? "cross_entropy" {
        case "dice": taskLoss = DiceLoss()
        case "ohem": taskLoss = CrossEntropyLoss(classWeights: weights, ohem: (threshold: 0.7, minKept: 10_000))
        default: taskLoss = CrossEntropyLoss(classWeights: weights)
        }
        var loss = taskLoss
        let distillation = try await DistillationSetup.make(p, student: source, server: server)
        if let distillation {
            loss = WeightedLossSum((distillation.taskWeight > 0 ? [(distillation.taskWeight, taskLoss)] : []) + distillation.terms)
        }
        let kernels = KernelContext(pool: p.threads.map { ThreadPool(threadCount: $0) } ?? .shared)
        let evaluateEvery: Int? = evaluation == nil ? nil : (p.evalEvery ?? 1)
        var describe = "\(optimizerName), lr \(lr), \(p.schedule ?? "cosine"), \(totalSteps) step(s), \(parameters.names.count) trainable tensors"
        if let distillation { describe += "; \(distillation.describe)" }
        return TrainingSetup(model: source.model, parameters: parameters, batches: batches,
                             plan: TrainingLoop.Plan(epochs: epochs, maxSteps: p.steps, evaluateEvery: evaluateEvery),
                             totalSteps: totalSteps, makeOptimizer: makeOptimizer, schedule: schedule, loss: loss,
                             clipNorm: p.clipNorm.map { Float($0) },
                             options: TrainingOptions(freezeBatchNorm: p.freezeBatchNorm ?? false, seed: UInt64(p.seed ?? 0)),
                             kernels: kernels, evaluation: evaluation, describe: describe, params: p, teacher: distillation?.forward)
    }

    func makeTrainer() throws -> Trainer {
        try Trainer(model: model, parameters: parameters, optimizer: makeOptimizer(), schedule: schedule, loss: loss,
                    clipNorm: clipNorm, options: options, kernels: kernels)
    }

    /// A fixed batch from two `.npy` files: float images N×C×H×W, integer labels N×H×W.
    static func fixedBatch(images: String, labels: String, ignoreIndex: Int32) throws -> TrainBatch {
        func load(_ path: String, _ field: String) throws -> Tensor {
            let abs = FilePaths.absolute(path)
            guard FileManager.default.fileExists(atPath: abs) else { throw ResponseError(.fileNotFound, "params.\(field): \(abs) does not exist") }
            do { return try Tensor(contentsOfNPY: URL(fileURLWithPath: abs)) } catch {
                throw ResponseError(.unsupportedFormat, "params.\(field): \(abs) is not a readable .npy file: \(error)")
            }
        }
        let x = try load(images, "inputs"), y = try load(labels, "labels")
        guard x.dtype.isFloatingPoint, x.dims.count == 4 else {
            throw ResponseError.invalidParams("params.inputs: expected float N×C×H×W images, got \(x.dtype) \(x.dims)")
        }
        guard !y.dtype.isFloatingPoint, y.dtype != .bool, y.dims == [x.dims[0], x.dims[2], x.dims[3]] else {
            throw ResponseError.invalidParams("params.labels: expected integer labels \([x.dims[0], x.dims[2], x.dims[3]]), got \(y.dtype) \(y.dims)")
        }
        let images = try FloatTensor(x, name: images)
        let values: [Int32]
        switch y.dtype {
        case .u8: values = try y.scalars(as: UInt8.self).map { Int32($0) }
        case .i8: values = try y.scalars(as: Int8.self).map { Int32($0) }
        case .u16: values = try y.scalars(as: UInt16.self).map { Int32($0) }
        case .i16: values = try y.scalars(as: Int16.self).map { Int32($0) }
        case .i32: values = try y.scalars(as: Int32.self)
        case .u32: values = try y.scalars(as: UInt32.self).map { Int32(clamping: $0) }
        case .i64: values = try y.scalars(as: Int64.self).map { Int32(clamping: $0) }
        default: values = try y.scalars(as: UInt64.self).map { Int32(clamping: $0) }
        }
        return TrainBatch(images: images, labels: LabelBatch(dims: y.dims, values: values, ignoreIndex: ignoreIndex))
    }

    /// The report: what ran, how fast, how it learned.
    func report(_ outcome: TrainingLoop.Outcome, trainer: Trainer, source: TrainingSource, sourceBytes: Int, trainedBytes: Int) -> [String: JSONValue] {
        let sorted = outcome.stepMilliseconds.sorted()
        let p50 = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        let totalMs = outcome.stepMilliseconds.reduce(0, +)
        let history: [JSONValue] = outcome.history.map { e in
            var o: [String: JSONValue] = ["epoch": .int(Int64(e.epoch)), "loss": .double(e.loss), "lr": .double(Double(e.learningRate)),
                                          "steps": .int(Int64(e.steps)), "seconds": .double(e.seconds)]
            if let m = e.valMiou { o["valMiou"] = .double(m) }
            return .object(o)
        }
        let trainableCount = parameters.names.reduce(0) { $0 + (model.graph.initializers[$1]?.elementCount ?? 0) }
        var report: [String: JSONValue] = [
            "technique": "train",
            "source": ["id": .string(source.id), "path": source.path.map(JSONValue.string) ?? .null],
            "steps": .int(Int64(trainer.stepCount)),
            "epochs": .int(Int64(outcome.history.last?.epoch ?? 0)),
            "stepMsP50": .double(p50),
            "imagesPerSecond": .double(totalMs > 0 ? Double(outcome.imagesSeen) * 1000 / totalMs : 0),
            "history": .array(history),
            "bestValMiou": outcome.bestValMiou.map(JSONValue.double) ?? .null,
            "bestEpoch": outcome.bestEpoch.map { .int(Int64($0)) } ?? .null,
            "durationMs": .double(outcome.durationMs),
            "cancelled": .bool(outcome.cancelled),
            "optimizer": .string(trainer.optimizer.name),
            "loss": .string(loss.name),
            "teacher": params.teacher.map(JSONValue.string) ?? .null,
            "learningRate": .double(Double(schedule.baseLR)),
            "trainable": ["tensors": .int(Int64(parameters.names.count)), "parameters": .int(Int64(trainableCount)),
                          "frozen": .int(Int64(parameters.frozen.count))],
            "sizeBytes": ["before": .int(Int64(sourceBytes)), "after": .int(Int64(trainedBytes))],
            "toolVersion": .string(SegSlimVersion.current),
        ]
        if let last = outcome.history.last { report["finalLoss"] = .double(last.loss) }
        return report
    }
}
