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

    package init(outputs: [String: FloatTensor], logitsName: String, labels: LabelBatch?, teacherOutputs: [String: FloatTensor]? = nil) {
        self.outputs = outputs
        self.logitsName = logitsName
        self.labels = labels
        self.teacherOutputs = teacherOutputs
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

    package init(value: Double, gradients: [String: FloatTensor], parts: [String: Double] = [:]) {
        self.value = value
        self.gradients = gradients
        self.parts = parts
    }
}

/// A training objective. Implementations are pure functions of their input.
package protocol TrainingLoss: Sendable {
    var name: String { get }
    func evaluate(_ input: LossInput) throws(AutodiffError) -> LossResult
}

/// Σ weightᵢ · lossᵢ, with each term reported as a part.
package struct WeightedLossSum: TrainingLoss {
    package var terms: [(weight: Double, loss: any TrainingLoss)]
    package var name: String { terms.map { "\($0.weight)·\($0.loss.name)" }.joined(separator: " + ") }

    package init(_ terms: [(weight: Double, loss: any TrainingLoss)]) { self.terms = terms }

    package func evaluate(_ input: LossInput) throws(AutodiffError) -> LossResult {
        var total = LossResult(value: 0, gradients: [:])
        for (weight, loss) in terms {
            let r = try loss.evaluate(input)
            total.value += weight * r.value
            total.parts[loss.name] = r.value
            for (name, g) in r.gradients {
                var scaled = g
                if weight != 1 { for i in scaled.scalars.indices { scaled.scalars[i] *= Float(weight) } }
                if total.gradients[name] == nil { total.gradients[name] = scaled } else { total.gradients[name]!.accumulate(scaled) }
            }
        }
        return total
    }
}
