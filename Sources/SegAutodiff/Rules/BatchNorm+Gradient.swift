import SegKernels

/// BatchNormalization in training mode: normalise with the batch's mean and (population)
/// variance, and update the running statistics as PyTorch's exporters intend:
/// running = momentum·running + (1 − momentum)·batch, the variance term unbiased (n/(n−1)),
/// as `torch.nn.BatchNorm2d` does — so a step here equals a PyTorch step on the same batch.
/// With `TrainingOptions.freezeBatchNorm` it normalises with the running statistics instead
/// and leaves them as they are.
enum NormalizationGradients {
    static let all = [GradientRule("BatchNormalization", versions: 7...Int.max) { ctx throws(AutodiffError) in try BatchNormStep(ctx) }]
}

final class BatchNormStep: DifferentiableStep {
    let label: String
    let epsilon: Float
    let momentum: Float
    let frozen: Bool
    let channels: Int, outer: Int, inner: Int
    let fixed: [[Float]?]
    let context: KernelContext
    private var saved: (normalized: [Float], invStd: [Float], scale: [Float])?
    private(set) var stateUpdates: [Int: FloatTensor] = [:]

    init(_ ctx: RuleContext) throws(AutodiffError) {
        label = ctx.label
        context = ctx.kernels
        epsilon = try ctx.attribute { try $0.float("epsilon", default: 1e-5) }
        momentum = try ctx.attribute { try $0.float("momentum", default: 0.9) }
        frozen = ctx.options.freezeBatchNorm
        let x = try ctx.inputShape(0)
        guard x.count >= 2, ctx.node.inputs.count >= 5 else { throw ctx.error("needs X of rank ≥ 2 and five inputs") }
        channels = x[1]
        outer = x[0]
        inner = x[2...].reduce(1, *)
        for i in 1...4 {
            guard let s = ctx.inputShapes[i], s == [channels] else { throw ctx.error("input \(i) must have shape [\(channels)]") }
        }
        fixed = try (0..<5).map { i throws(AutodiffError) in i == 0 ? nil : try ctx.constantFloats(i) }
        if !frozen && outer * inner < 2 {
            throw ctx.error("batch statistics need more than one value per channel (input \(x)); freeze BatchNorm or use a larger batch or crop")
        }
    }

    private func operand(_ inputs: [FloatTensor?], _ i: Int) throws(AutodiffError) -> [Float] {
        guard let v = inputs[i]?.scalars ?? fixed[i] else { throw .node(label, "input \(i) is missing") }
        return v
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        let scale = try operand(inputs, 1), bias = try operand(inputs, 2)
        let runningMean = try operand(inputs, 3), runningVar = try operand(inputs, 4)
        let count = outer * inner
        var mean = runningMean, variance = runningVar
        if !frozen {
            (mean, variance) = statistics(x.scalars)
            let correction = Float(count) / Float(count - 1)
            stateUpdates = [
                3: FloatTensor(dims: [channels], scalars: (0..<channels).map { momentum * runningMean[$0] + (1 - momentum) * mean[$0] }),
                4: FloatTensor(dims: [channels], scalars: (0..<channels).map { momentum * runningVar[$0] + (1 - momentum) * variance[$0] * correction }),
            ]
        }
        let invStd = variance.map { 1 / ($0 + epsilon).squareRoot() }
        var normalized = [Float](repeating: 0, count: x.count)
        var y = [Float](repeating: 0, count: x.count)
        let (channels, inner) = (channels, inner)
        x.scalars.withUnsafeBufferPointer { xp in
            normalized.withUnsafeMutableBufferPointer { np in
                y.withUnsafeMutableBufferPointer { yp in
                    let xb = xp.baseAddress!, nb = np.baseAddress!, yb = yp.baseAddress!
                    context.pool.parallelFor(outer * channels) { range in
                        for plane in range {
                            let c = plane % channels, base = plane * inner
                            let m = mean[c], s = invStd[c], g = scale[c], b = bias[c]
                            for i in base..<(base + inner) {
                                let n = (xb[i] - m) * s
                                nb[i] = n
                                yb[i] = n * g + b
                            }
                        }
                    }
                }
            }
        }
        saved = (normalized, invStd, scale)
        return [FloatTensor(dims: x.dims, scalars: y)]
    }

    /// Per-channel mean and population variance (two passes, in Double for accuracy).
    private func statistics(_ x: [Float]) -> ([Float], [Float]) {
        var mean = [Float](repeating: 0, count: channels), variance = mean
        let (channels, inner, outer) = (channels, inner, outer)
        x.withUnsafeBufferPointer { xp in
            mean.withUnsafeMutableBufferPointer { mp in
                variance.withUnsafeMutableBufferPointer { vp in
                    let xb = xp.baseAddress!, mb = mp.baseAddress!, vb = vp.baseAddress!
                    context.pool.parallelFor(channels) { range in
                        for c in range {
                            var sum = 0.0
                            for n in 0..<outer { sum += Double(vectorSum(xb + (n * channels + c) * inner, inner)) }
                            let m = sum / Double(outer * inner)
                            var squares = 0.0
                            for n in 0..<outer {
                                squares += Double(vectorSumOfSquares(xb + (n * channels + c) * inner, centeredAt: Float(m), inner))
                            }
                            mb[c] = Float(m)
                            vb[c] = Float(squares / Double(outer * inner))
                        }
                    }
                }
            }
        }
        return (mean, variance)
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        guard let dy = outputGradients[0] else { return Array(repeating: nil, count: wanted.count) }
        guard let saved else { throw .node(label, "backward before forward") }
        var dScale = [Float](repeating: 0, count: channels), dBias = dScale
        let (channels, inner, outer) = (channels, inner, outer)
        dy.scalars.withUnsafeBufferPointer { gp in
            saved.normalized.withUnsafeBufferPointer { np in
                dScale.withUnsafeMutableBufferPointer { sp in
                    dBias.withUnsafeMutableBufferPointer { bp in
                        let g = gp.baseAddress!, n = np.baseAddress!, ds = sp.baseAddress!, db = bp.baseAddress!
                        context.pool.parallelFor(channels) { range in
                            for c in range {
                                var sumG = 0.0, sumGN = 0.0
                                for o in 0..<outer {
                                    let base = (o * channels + c) * inner
                                    sumG += Double(vectorSum(g + base, inner))
                                    sumGN += Double(vectorDot(g + base, n + base, inner))
                                }
                                db[c] = Float(sumG); ds[c] = Float(sumGN)
                            }
                        }
                    }
                }
            }
        }
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        if wanted[0] {
            var dx = [Float](repeating: 0, count: dy.count)
            let count = Float(outer * inner), frozen = frozen
            dy.scalars.withUnsafeBufferPointer { gp in
                saved.normalized.withUnsafeBufferPointer { np in
                    dx.withUnsafeMutableBufferPointer { dp in
                        let g = gp.baseAddress!, n = np.baseAddress!, d = dp.baseAddress!
                        context.pool.parallelFor(outer * channels) { range in
                            for plane in range {
                                let c = plane % channels, base = plane * inner
                                let k = saved.scale[c] * saved.invStd[c]
                                if frozen {
                                    for i in base..<(base + inner) { d[i] = g[i] * k }
                                } else {
                                    let mg = dBias[c] / count, mgn = dScale[c] / count
                                    for i in base..<(base + inner) { d[i] = k * (g[i] - mg - n[i] * mgn) }
                                }
                            }
                        }
                    }
                }
            }
            grads[0] = FloatTensor(dims: dy.dims, scalars: dx)
        }
        if wanted[1] { grads[1] = FloatTensor(dims: [channels], scalars: dScale) }
        if wanted[2] { grads[2] = FloatTensor(dims: [channels], scalars: dBias) }
        return grads
    }

    func release() { saved = nil }
}
