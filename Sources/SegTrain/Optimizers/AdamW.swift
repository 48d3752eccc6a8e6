import SegAutodiff

/// AdamW as `torch.optim.AdamW` computes it: w ← w·(1 − lr·wd); m, v the moving moments;
/// w ← w − lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + ε).
package struct AdamW: Optimizer {
    package var beta1: Float
    package var beta2: Float
    package var epsilon: Float
    package var weightDecay: WeightDecayPolicy
    private var first: [String: [Float]] = [:]
    private var second: [String: [Float]] = [:]
    private var steps = 0

    package init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                 weightDecay: WeightDecayPolicy = WeightDecayPolicy(rate: 1e-2)) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    package var name: String { "adamw" }

    package mutating func step(_ parameters: inout [String: FloatTensor], gradients: [String: FloatTensor], lr: Float) {
        steps += 1
        let t = Double(steps)
        let correction1 = Float(1 - pow(Double(beta1), t)), correction2 = Float(1 - pow(Double(beta2), t))
        let stepSize = lr / correction1, root2 = correction2.squareRoot()
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        for name in gradients.keys.sorted() {
            guard let g = gradients[name], var w = parameters[name] else { continue }
            let decay = 1 - lr * weightDecay.rate(for: w)
            var m = first[name] ?? [Float](repeating: 0, count: w.count)
            var v = second[name] ?? [Float](repeating: 0, count: w.count)
            w.scalars.withUnsafeMutableBufferPointer { wp in
                g.scalars.withUnsafeBufferPointer { gp in
                    m.withUnsafeMutableBufferPointer { mp in
                        v.withUnsafeMutableBufferPointer { vp in
                            for i in 0..<wp.count {
                                let grad = gp[i]
                                mp[i] = b1 * mp[i] + (1 - b1) * grad
                                vp[i] = b2 * vp[i] + (1 - b2) * grad * grad
                                let denominator = vp[i].squareRoot() / root2 + eps
                                wp[i] = wp[i] * decay - stepSize * mp[i] / denominator
                            }
                        }
                    }
                }
            }
            first[name] = m
            second[name] = v
            parameters[name] = w
        }
    }

    package var state: OptimizerState {
        var buffers: [String: [Float]] = [:]
        for (k, v) in first { buffers["m/\(k)"] = v }
        for (k, v) in second { buffers["v/\(k)"] = v }
        return OptimizerState(kind: "adamw", step: steps, buffers: buffers)
    }

    package mutating func restore(_ state: OptimizerState) throws(TrainingError) {
        guard state.kind == "adamw" else { throw .checkpoint("the checkpoint's optimizer is \(state.kind), not adamw") }
        steps = state.step
        first = [:]
        second = [:]
        for (key, value) in state.buffers {
            if key.hasPrefix("m/") { first[String(key.dropFirst(2))] = value }
            if key.hasPrefix("v/") { second[String(key.dropFirst(2))] = value }
        }
    }
}

private func pow(_ x: Double, _ y: Double) -> Double {
    // Integer step counts: repeated squaring keeps this exact enough and Foundation-free.
    var result = 1.0, base = x, n = Int(y)
    while n > 0 { if n & 1 == 1 { result *= base }; base *= base; n >>= 1 }
    return result
}
