import SegAutodiff

/// SGD with momentum and Nesterov, PyTorch's form: g ← ∇ + wd·w; v ← μ·v + g (v = g on the
/// first step); w ← w − lr·(Nesterov ? g + μ·v : v).
package struct SGD: Optimizer {
    package var momentum: Float
    package var nesterov: Bool
    package var weightDecay: WeightDecayPolicy
    private var velocity: [String: [Float]] = [:]
    private var steps = 0

    package init(momentum: Float = 0.9, nesterov: Bool = false, weightDecay: WeightDecayPolicy = WeightDecayPolicy(rate: 0)) {
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    package var name: String { nesterov ? "sgd (nesterov)" : "sgd" }

    package mutating func step(_ parameters: inout [String: FloatTensor], gradients: [String: FloatTensor], lr: Float) {
        steps += 1
        for name in gradients.keys.sorted() {
            guard let g = gradients[name], var w = parameters[name] else { continue }
            let wd = weightDecay.rate(for: w)
            let mu = momentum
            var v = velocity[name] ?? []
            let first = v.isEmpty
            if mu != 0 && first { v = [Float](repeating: 0, count: w.count) }
            w.scalars.withUnsafeMutableBufferPointer { wp in
                g.scalars.withUnsafeBufferPointer { gp in
                    v.withUnsafeMutableBufferPointer { vp in
                        for i in 0..<wp.count {
                            let grad = gp[i] + wd * wp[i]
                            guard mu != 0 else { wp[i] -= lr * grad; continue }
                            vp[i] = first ? grad : mu * vp[i] + grad
                            wp[i] -= lr * (nesterov ? grad + mu * vp[i] : vp[i])
                        }
                    }
                }
            }
            if mu != 0 { velocity[name] = v }
            parameters[name] = w
        }
    }

    package var state: OptimizerState {
        OptimizerState(kind: "sgd", step: steps, buffers: Dictionary(uniqueKeysWithValues: velocity.map { ("momentum/\($0.key)", $0.value) }))
    }

    package mutating func restore(_ state: OptimizerState) throws(TrainingError) {
        guard state.kind == "sgd" else { throw .checkpoint("the checkpoint's optimizer is \(state.kind), not sgd") }
        steps = state.step
        velocity = [:]
        for (key, value) in state.buffers where key.hasPrefix("momentum/") { velocity[String(key.dropFirst(9))] = value }
    }
}
