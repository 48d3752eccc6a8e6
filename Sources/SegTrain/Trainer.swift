import Foundation
import SegAutodiff
import SegGraph
import SegKernels
import SegTensor

/// Trains one model: owns its parameters (trainable and BatchNorm state), the optimizer, the
/// schedule and the loss, and one training program per input shape. `step` is one optimizer
/// step on one batch: forward, loss, backward, clip, update.
package final class Trainer {
    package private(set) var model: Model
    package let parameters: TrainableParameters
    package let inputName: String
    package let logitsName: String
    package var optimizer: any Optimizer
    package var schedule: LearningRateSchedule
    package var loss: any TrainingLoss
    package var clipNorm: Float?
    package let options: TrainingOptions
    package let kernels: KernelContext
    /// Trainable and state values by initializer name.
    package private(set) var values: [String: FloatTensor]
    package private(set) var stepCount = 0
    /// The losses' own parameters (distillation adapters): trained here, checkpointed, never
    /// written into the model.
    package let auxiliaryNames: [String]
    private var programs: [[Int]: TrainingProgram] = [:]

    package struct StepStats: Sendable {
        package var loss: Double
        package var parts: [String: Double]
        package var learningRate: Float
        package var gradientNorm: Float
        package var milliseconds: Double
    }

    package init(model: Model, parameters: TrainableParameters, optimizer: any Optimizer, schedule: LearningRateSchedule,
                 loss: any TrainingLoss, clipNorm: Float? = nil, options: TrainingOptions = TrainingOptions(),
                 kernels: KernelContext = .shared) throws(TrainingError) {
        guard let input = model.graph.runtimeInputs.first, model.graph.runtimeInputs.count == 1 else {
            throw .invalidConfiguration("training needs a model with exactly one input (it has \(model.graph.runtimeInputs.count))")
        }
        guard let output = model.graph.outputs.first else { throw .invalidConfiguration("the model has no outputs") }
        guard !parameters.names.isEmpty else {
            throw .autodiff(.noTrainableParameters(parameters.frozen.isEmpty
                ? "the model has no float weights, biases or norm parameters"
                : "all \(parameters.frozen.count) candidates are frozen"))
        }
        var values: [String: FloatTensor] = [:]
        for name in parameters.names + parameters.state {
            guard let t = model.graph.initializers[name] else { continue }
            do { values[name] = try FloatTensor(t, name: name) } catch { throw .autodiff(error) }
        }
        let auxiliary = loss.auxiliaryParameters
        for (name, v) in auxiliary {
            guard values[name] == nil else { throw .invalidConfiguration("the loss's parameter '\(name)' clashes with a model parameter") }
            values[name] = v
        }
        self.auxiliaryNames = auxiliary.keys.sorted()
        self.model = model
        self.parameters = parameters
        self.inputName = input.name
        self.logitsName = output.name
        self.optimizer = optimizer
        self.schedule = schedule
        self.loss = loss
        self.clipNorm = clipNorm
        self.options = options
        self.kernels = kernels
        self.values = values
    }

    /// The program for this input shape, built on first use (shapes re-inferred per shape).
    package func program(for dims: [Int]) throws(TrainingError) -> TrainingProgram {
        if let p = programs[dims] { return p }
        do {
            let p = try TrainingProgram(model: model, inputShapes: [inputName: dims], trainable: parameters.names,
                                        state: parameters.state, outputs: [logitsName] + loss.studentOutputs.filter { $0 != logitsName },
                                        options: options, kernels: kernels)
            programs[dims] = p
            return p
        } catch {
            throw .autodiff(error)
        }
    }

    /// Loss and parameter gradients for one batch, without updating anything.
    package func gradients(images: FloatTensor, labels: LabelBatch?, teacherOutputs: [String: FloatTensor]? = nil,
                           isCancelled: () -> Bool = { false }) throws(TrainingError) -> (LossResult, [String: FloatTensor], state: [String: FloatTensor]) {
        let program = try program(for: images.dims)
        do {
            let forward = try program.forward(inputs: [inputName: images], parameters: values, isCancelled: isCancelled)
            var auxiliary: [String: FloatTensor] = [:]
            for name in auxiliaryNames { auxiliary[name] = values[name] }
            var lossInput = LossInput(outputs: forward.outputs, logitsName: logitsName, labels: labels,
                                      teacherOutputs: teacherOutputs, parameters: auxiliary)
            lossInput.progress = Double(stepCount) / Double(max(1, schedule.totalSteps - 1))
            let result = try loss.evaluate(lossInput)
            guard result.value.isFinite else {
                program.releaseAll()
                throw TrainingError.nonFiniteLoss(step: stepCount + 1, epoch: 0, value: result.value)
            }
            var grads = try program.backward(outputGradients: result.gradients, isCancelled: isCancelled)
            for (name, g) in result.parameterGradients where auxiliary[name] != nil { grads[name] = g }
            return (result, grads, forward.state)
        } catch let error as AutodiffError {
            program.releaseAll()
            if case .node(_, "cancelled") = error { throw .cancelled }
            throw .autodiff(error)
        } catch let error as TrainingError {
            throw error
        } catch {
            throw .invalidConfiguration("\(error)")
        }
    }

    /// One optimizer step on a batch.
    @discardableResult
    package func step(images: FloatTensor, labels: LabelBatch?, teacherOutputs: [String: FloatTensor]? = nil,
                      isCancelled: () -> Bool = { false }) throws(TrainingError) -> StepStats {
        let start = DispatchTime.now().uptimeNanoseconds
        var (result, grads, state) = try gradients(images: images, labels: labels, teacherOutputs: teacherOutputs, isCancelled: isCancelled)
        var norm: Float = 0
        if let clipNorm { norm = clipGradients(&grads, maxNorm: clipNorm) }
        for g in grads.values where g.scalars.contains(where: { !$0.isFinite }) {
            throw .nonFiniteLoss(step: stepCount + 1, epoch: 0, value: .nan)
        }
        let lr = schedule.rate(at: stepCount)
        optimizer.step(&values, gradients: grads, lr: lr)
        for (name, v) in state { values[name] = v }
        stepCount += 1
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return StepStats(loss: result.value, parts: result.parts, learningRate: lr, gradientNorm: norm, milliseconds: ms)
    }

    /// The model with the current parameters and running statistics written into its
    /// initializers (in each initializer's own float dtype).
    package func currentModel() throws(TrainingError) -> Model {
        var m = model
        for (name, v) in values {
            guard let original = m.graph.initializers[name] else { continue }
            do {
                let t = try Tensor(dims: original.dims, scalars: v.scalars)
                m.graph.initializers[name] = original.dtype == .f32 ? t : try t.converted(to: original.dtype)
            } catch {
                throw .invalidConfiguration("cannot write '\(name)' back: \(error)")
            }
        }
        return m
    }

    /// Replaces parameter values (resuming from a checkpoint); names must match.
    package func load(values newValues: [String: FloatTensor], stepCount: Int) throws(TrainingError) {
        for (name, v) in newValues {
            guard let current = values[name] else { throw .checkpoint("the checkpoint has '\(name)', which this model does not train") }
            guard current.dims == v.dims else { throw .checkpoint("'\(name)' is \(v.dims) in the checkpoint, \(current.dims) in the model") }
            values[name] = v
        }
        self.stepCount = stepCount
    }
}
