import SegKernels

/// LayerNormalization (opset 17): each row of the axes from `axis` on is normalised with its
/// own mean and (population) variance, then scaled and shifted per position in the row. The
/// optional Mean and InvStdDev outputs are produced (shaped like X with the normalised axes
/// set to 1) but carry no gradient. Scale and B must hold one value per row position (their
/// dims right-aligned with the row, leading 1s allowed); other broadcasts are refused.
/// Backward, with n the normalised row, g = dy·scale and r = 1/σ:
/// dx = r·(g − mean(g) − n·mean(g·n)), dScale = Σ_rows dy·n, dB = Σ_rows dy.
enum LayerNormGradients {
    static let all = [GradientRule("LayerNormalization", versions: 17...Int.max) { ctx throws(AutodiffError) in try LayerNormStep(ctx) }]
}

final class LayerNormStep: DifferentiableStep {
    let label: String
    let dims: [Int], statDims: [Int]
    let rows: Int, length: Int
    let epsilon: Float
    let hasBias: Bool
    let scaleDims: [Int], biasDims: [Int]
    let fixed: [[Float]?]
    let context: KernelContext
    private var saved: (normalized: [Float], invStd: [Float], scale: [Float])?

    init(_ ctx: RuleContext) throws(AutodiffError) {
        label = ctx.label
        context = ctx.kernels
        let x = try ctx.inputShape(0)
        let raw = try ctx.attribute { try $0.int("axis", default: -1) }
        let axis = raw < 0 ? raw + x.count : raw
        guard (0..<max(1, x.count)).contains(axis), !x.isEmpty else { throw ctx.error("axis \(raw) is out of range for rank \(x.count)") }
        epsilon = try ctx.attribute { try $0.float("epsilon", default: 1e-5) }
        dims = x
        rows = x[..<axis].reduce(1, *)
        length = x[axis...].reduce(1, *)
        statDims = x.indices.map { $0 < axis ? x[$0] : 1 }
        hasBias = ctx.node.inputs.count > 2 && !ctx.node.inputs[2].isEmpty
        let row = Array(x[axis...])
        var parameterDims: [[Int]] = [[length], [length]]
        for (i, name) in [(1, "Scale"), (2, "B")] where i < ctx.node.inputs.count && !ctx.node.inputs[i].isEmpty {
            let s = try ctx.inputShape(i)
            guard s.count <= x.count, Array(s.drop { $0 == 1 }) == Array(row.drop { $0 == 1 }) else {
                throw ctx.error("\(name) of shape \(s) must hold one value per normalised position \(row)")
            }
            parameterDims[i - 1] = s
        }
        scaleDims = parameterDims[0]
        biasDims = parameterDims[1]
        fixed = [nil, try ctx.constantFloats(1), try ctx.constantFloats(2)]
        guard length >= 1 else { throw ctx.error("cannot normalise an empty row (input \(x))") }
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        guard let scale = inputs[1]?.scalars ?? fixed[1] else { throw .node(label, "Scale is missing") }
        let bias = hasBias ? (inputs.count > 2 ? inputs[2]?.scalars : nil) ?? fixed[2] : nil
        if hasBias && bias == nil { throw .node(label, "B is missing") }
        var normalized = [Float](repeating: 0, count: x.count), y = normalized
        var mean = [Float](repeating: 0, count: rows), invStd = mean
        let (length, epsilon) = (length, epsilon)
        x.scalars.withUnsafeBufferPointer { xp in
            normalized.withUnsafeMutableBufferPointer { np in
                y.withUnsafeMutableBufferPointer { yp in
                    mean.withUnsafeMutableBufferPointer { mp in
                        invStd.withUnsafeMutableBufferPointer { sp in
                            let src = xp.baseAddress!, nb = np.baseAddress!, yb = yp.baseAddress!, mb = mp.baseAddress!, sb = sp.baseAddress!
                            context.pool.parallelFor(rows) { range in
                                for r in range {
                                    let base = r * length
                                    var sum = 0.0
                                    for i in 0..<length { sum += Double(src[base + i]) }
                                    let m = Float(sum / Double(length))
                                    var squares = 0.0
                                    for i in 0..<length { let d = Double(src[base + i] - m); squares += d * d }
                                    let s = 1 / (Float(squares / Double(length)) + epsilon).squareRoot()
                                    mb[r] = m
                                    sb[r] = s
                                    for i in 0..<length {
                                        let n = (src[base + i] - m) * s
                                        nb[base + i] = n
                                        yb[base + i] = n * scale[i] + (bias?[i] ?? 0)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        saved = (normalized, invStd, scale)
        return [FloatTensor(dims: dims, scalars: y), FloatTensor(dims: statDims, scalars: mean), FloatTensor(dims: statDims, scalars: invStd)]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        if outputGradients.dropFirst().contains(where: { $0 != nil }) {
            throw .node(label, "the Mean and InvStdDev outputs carry no gradient; the loss must not depend on them")
        }
        guard let dy = outputGradients[0] else { return grads }
        guard let saved else { throw .node(label, "backward before forward") }
        let (rows, length) = (rows, length)
        if wanted[0] {
            var dx = [Float](repeating: 0, count: dy.count)
            dy.scalars.withUnsafeBufferPointer { gp in
                saved.normalized.withUnsafeBufferPointer { np in
                    dx.withUnsafeMutableBufferPointer { dp in
                        let g = gp.baseAddress!, n = np.baseAddress!, d = dp.baseAddress!
                        context.pool.parallelFor(rows) { range in
                            for r in range {
                                let base = r * length
                                var sumG: Float = 0, sumGN: Float = 0
                                for i in 0..<length { let t = g[base + i] * saved.scale[i]; sumG += t; sumGN += t * n[base + i] }
                                let mg = sumG / Float(length), mgn = sumGN / Float(length), s = saved.invStd[r]
                                for i in 0..<length { d[base + i] = s * (g[base + i] * saved.scale[i] - mg - n[base + i] * mgn) }
                            }
                        }
                    }
                }
            }
            grads[0] = FloatTensor(dims: dims, scalars: dx)
        }
        let wantScale = wanted.count > 1 && wanted[1], wantBias = wanted.count > 2 && wanted[2]
        if wantScale || wantBias {
            var dScale = [Float](repeating: 0, count: length), dBias = dScale
            dy.scalars.withUnsafeBufferPointer { gp in
                saved.normalized.withUnsafeBufferPointer { np in
                    dScale.withUnsafeMutableBufferPointer { sp in
                        dBias.withUnsafeMutableBufferPointer { bp in
                            let g = gp.baseAddress!, n = np.baseAddress!, ds = sp.baseAddress!, db = bp.baseAddress!
                            // Parallel over row positions: each thread owns its columns of the sums.
                            context.pool.parallelFor(length) { range in
                                for r in 0..<rows {
                                    let base = r * length
                                    for i in range { ds[i] += g[base + i] * n[base + i]; db[i] += g[base + i] }
                                }
                            }
                        }
                    }
                }
            }
            // Scale and B keep their own dims (e.g. [C] or [1, C]).
            if wantScale { grads[1] = FloatTensor(dims: scaleDims, scalars: dScale) }
            if wantBias { grads[2] = FloatTensor(dims: biasDims, scalars: dBias) }
        }
        return grads
    }

    func release() { saved = nil }
}
