import SegAutodiff

/// Labels of a batch: class ids N×H×W, `ignoreIndex` where a pixel has none (void, padding).
package struct LabelBatch: Sendable, Equatable {
    package var dims: [Int]
    package var values: [Int32]
    package var ignoreIndex: Int32

    package init(dims: [Int], values: [Int32], ignoreIndex: Int32 = 255) {
        self.dims = dims
        self.values = values
        self.ignoreIndex = ignoreIndex
    }
}

/// What a loss sees: the student's outputs by name (the first is the logits), the labels,
/// and, for distillation, a teacher's outputs for the same batch.
package struct LossInput {
    package var outputs: [String: FloatTensor]
    package var logitsName: String
    package var labels: LabelBatch?
    package var teacherOutputs: [String: FloatTensor]?
    /// How far training is, 0 at the first step to 1 at the last (scheduled loss weights).
    package var progress: Double = 0
    /// Current values of the losses' own parameters (`TrainingLoss.auxiliaryParameters`:
    /// feature-distillation adapters), trained with the model and never written into it.
    package var parameters: [String: FloatTensor]

    package init(outputs: [String: FloatTensor], logitsName: String, labels: LabelBatch?, teacherOutputs: [String: FloatTensor]? = nil,
                 parameters: [String: FloatTensor] = [:]) {
        self.outputs = outputs
        self.logitsName = logitsName
        self.labels = labels
        self.teacherOutputs = teacherOutputs
        self.parameters = parameters
    }

    /// A teacher output, checked to exist.
    package func teacherOutput(_ name: String, for loss: String) throws(AutodiffError) -> FloatTensor {
        guard let t = teacherOutputs?[name] else { throw .loss("\(loss) needs the teacher's '\(name)' for the same batch") }
        return t
    }

    package func logits() throws(AutodiffError) -> FloatTensor {
        guard let l = outputs[logitsName] else { throw .loss("the model produced no output '\(logitsName)'") }
        guard l.rank >= 2 else { throw .loss("output '\(logitsName)' has shape \(l.dims); expected N×C×… class scores") }
        return l
    }

    /// Labels checked against N×C×H×W logits: N×H×W, values in 0..<C or the ignore index.
    package func checkedLabels(for logits: FloatTensor) throws(AutodiffError) -> LabelBatch {
        guard let labels else { throw .loss("this loss needs labels") }
        let expected = [logits.dims[0]] + Array(logits.dims[2...])
        guard labels.dims == expected else {
            throw .loss("labels have shape \(labels.dims); the logits \(logits.dims) need \(expected)")
        }
        let classes = Int32(logits.dims[1])
        if let bad = labels.values.firstIndex(where: { ($0 < 0 || $0 >= classes) && $0 != labels.ignoreIndex }) {
            let plane = expected[1...].reduce(1, *)
            throw .loss("label value \(labels.values[bad]) in batch item \(bad / max(1, plane)) is outside 0..<\(classes) and not the ignore index \(labels.ignoreIndex)")
        }
        return labels
    }
}

/// A loss value, its gradient with respect to each output it reads, and named parts (for
/// losses that sum several terms: task + distillation).
package struct LossResult {
    package var value: Double
    package var gradients: [String: FloatTensor]
    package var parts: [String: Double]
    /// Gradients with respect to the losses' own parameters (`LossInput.parameters`).
    package var parameterGradients: [String: FloatTensor]

    package init(value: Double, gradients: [String: FloatTensor], parts: [String: Double] = [:],
                 parameterGradients: [String: FloatTensor] = [:]) {
        self.value = value
        self.gradients = gradients
        self.parts = parts
        self.parameterGradients = parameterGradients
    }
}

/// A training objective. Implementations are pure functions of their input.
package protocol TrainingLoss: Sendable {
    var name: String { get }
    func evaluate(_ input: LossInput) throws(AutodiffError) -> LossResult
    /// Parameters the loss itself trains (adapters), with their initial values; empty for
    /// most losses.
    var auxiliaryParameters: [String: FloatTensor] { get }
    /// Outputs of the student the loss reads besides the logits (feature tensors).
    var studentOutputs: [String] { get }
}

extension TrainingLoss {
    package var auxiliaryParameters: [String: FloatTensor] { [:] }
    package var studentOutputs: [String] { [] }
}

/// Σ weightᵢ · lossᵢ, with each term reported as a part.
package struct WeightedLossSum: TrainingLoss {
    package var terms: [(weight: Double, loss: any TrainingLoss)]
    package var name: String { terms.map { "\($0.weight)·\($0.loss.name)" }.joined(separator: " + ") }

    package init(_ terms: [(weight: Double, loss: any TrainingLoss)]) { self.terms = terms }

    package var auxiliaryParameters: [String: FloatTensor] {
        terms.reduce(into: [:]) { all, term in all.merge(term.loss.auxiliaryParameters) { a, _ in a } }
    }

    package var studentOutputs: [String] {
        var seen = Set<String>()
        return terms.flatMap(\.loss.studentOutputs).filter { seen.insert($0).inserted }
    }

    package func evaluate(_ input: LossInput) throws(AutodiffError) -> LossResult {
        var total = LossResult(value: 0, gradients: [:])
        for (weight, loss) in terms {
            let r = try loss.evaluate(input)
            total.value += weight * r.value
            total.parts[loss.name] = r.value
            Self.add(r.gradients, times: weight, to: &total.gradients)
            Self.add(r.parameterGradients, times: weight, to: &total.parameterGradients)
        }
        return total
    }

    private static func add(_ gradients: [String: FloatTensor], times weight: Double, to total: inout [String: FloatTensor]) {
        for (name, g) in gradients {
            var scaled = g
            if weight != 1 { for i in scaled.scalars.indices { scaled.scalars[i] *= Float(weight) } }
            if total[name] == nil { total[name] = scaled } else { total[name]!.accumulate(scaled) }
        }
    }
}
