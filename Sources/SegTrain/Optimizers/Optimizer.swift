import SegAutodiff

/// Updates parameters in place from their gradients. State (momentum buffers, Adam moments,
/// the step count) lives in the optimizer and is saved with checkpoints.
package protocol Optimizer: Sendable {
    var name: String { get }
    /// One update at learning rate `lr`. Parameters without a gradient are left alone (and
    /// take no weight decay, as in PyTorch).
    mutating func step(_ parameters: inout [String: FloatTensor], gradients: [String: FloatTensor], lr: Float)
    /// Named state tensors for a checkpoint, and their restoration.
    var state: OptimizerState { get }
    mutating func restore(_ state: OptimizerState) throws(TrainingError)
}

package struct OptimizerState: Sendable, Equatable, Codable {
    package var kind: String
    package var step: Int
    /// Buffer name ("momentum/<param>", "m/<param>", "v/<param>") → values.
    package var buffers: [String: [Float]]

    package init(kind: String, step: Int, buffers: [String: [Float]]) {
        self.kind = kind
        self.step = step
        self.buffers = buffers
    }
}

/// Which parameters take weight decay: by default not the rank-1 ones (biases and the scale
/// and shift of norms), as the usual recipes (timm, PaddleSeg's AdamW configs) exclude them.
package struct WeightDecayPolicy: Sendable, Equatable {
    package var rate: Float
    package var decayNormsAndBiases: Bool

    package init(rate: Float, decayNormsAndBiases: Bool = false) {
        self.rate = rate
        self.decayNormsAndBiases = decayNormsAndBiases
    }

    package func rate(for parameter: FloatTensor) -> Float {
        parameter.rank <= 1 && !decayNormsAndBiases ? 0 : rate
    }
}

/// Scales all gradients down so their global L2 norm is at most `maxNorm` (PyTorch's
/// `clip_grad_norm_`). Returns the norm before clipping.
@discardableResult
package func clipGradients(_ gradients: inout [String: FloatTensor], maxNorm: Float) -> Float {
    var sum = 0.0
    for g in gradients.values { for v in g.scalars { sum += Double(v) * Double(v) } }
    let norm = Float(sum.squareRoot())
    let factor = maxNorm / (norm + 1e-6)
    if factor < 1 {
        for key in Array(gradients.keys) {
            gradients[key]!.scalars.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] *= factor } }
        }
    }
    return norm
}
