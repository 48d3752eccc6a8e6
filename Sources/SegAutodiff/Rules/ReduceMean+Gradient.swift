/// ReduceMean over a set of axes (the `axes` attribute before opset 18, the `axes` input from
/// 18 with `noop_with_empty_axes`), with or without keepdims. The reduction is walked as
/// broadcast runs of the input against the kept shape (reduced axes set to 1), so the forward
/// sums into the kept shape and the backward broadcasts the gradient back, divided by the
/// number of reduced elements.
enum ReduceGradients {
    static let all = [GradientRule("ReduceMean") { ctx throws(AutodiffError) in try ReduceMeanStep(ctx) }]
}

final class ReduceMeanStep: DifferentiableStep {
    let label: String
    let inputDims: [Int], keptDims: [Int], outputDims: [Int]
    let runs: BroadcastRuns?
    let count: Float

    init(_ ctx: RuleContext) throws(AutodiffError) {
        label = ctx.label
        let x = try ctx.inputShape(0)
        let keepDims = try ctx.attribute { try $0.int("keepdims", default: 1) } != 0
        var axes: [Int]
        if ctx.attributes.opset >= 18 {
            if ctx.node.inputs.count > 1, ctx.dynamic.count > 1, ctx.dynamic[1] {
                throw ctx.error("the axes input must be a constant for training")
            }
            axes = try ctx.constantInts(1) ?? []
            if ctx.attributes.has("axes") { throw ctx.error("the axes attribute is not part of ReduceMean-18; pass axes as input 1") }
        } else {
            axes = try ctx.attribute { try $0.ints("axes") } ?? []
        }
        let noop = ctx.attributes.opset >= 18 ? try ctx.attribute { try $0.int("noop_with_empty_axes", default: 0) } != 0 : false
        if axes.isEmpty && !noop { axes = Array(x.indices) }
        var reduced = Set<Int>()
        for a in axes {
            let axis = a < 0 ? a + x.count : a
            guard (0..<max(1, x.count)).contains(axis), reduced.insert(axis).inserted else {
                throw ctx.error("axes \(axes) are out of range or repeated for rank \(x.count)")
            }
        }
        inputDims = x
        keptDims = x.indices.map { reduced.contains($0) ? 1 : x[$0] }
        outputDims = keepDims ? keptDims : x.indices.filter { !reduced.contains($0) }.map { x[$0] }
        if let inferred = ctx.outputShapes.first ?? nil, inferred != outputDims {
            throw ctx.error("reduced shape \(outputDims) disagrees with shape inference's \(inferred)")
        }
        count = Float(max(1, reduced.reduce(1) { $0 * x[$1] }))
        runs = reduced.isEmpty ? nil : BroadcastRuns(x, keptDims)
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        guard let runs else { return [FloatTensor(dims: outputDims, scalars: x.scalars)] }
        var sums = [Double](repeating: 0, count: keptDims.reduce(1, *))
        x.scalars.withUnsafeBufferPointer { xp in
            sums.withUnsafeMutableBufferPointer { sp in
                let src = xp.baseAddress!, dst = sp.baseAddress!
                runs.forEachRun { o, _, ib, n, _, sb in
                    if sb == 0 {
                        // A run along reduced axes only: one sum (in Float, then widened).
                        var s: Float = 0
                        for j in 0..<n { s += src[o + j] }
                        dst[ib] += Double(s)
                    } else {
                        for j in 0..<n { dst[ib + j * sb] += Double(src[o + j]) }
                    }
                }
            }
        }
        let scale = 1 / Double(count)
        return [FloatTensor(dims: outputDims, scalars: sums.map { Float($0 * scale) })]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard wanted[0], let dy = outputGradients[0] else { return grads }
        guard let runs else {
            grads[0] = FloatTensor(dims: inputDims, scalars: dy.scalars)
            return grads
        }
        var dx = [Float](repeating: 0, count: inputDims.reduce(1, *))
        let inverse = 1 / count
        dy.scalars.withUnsafeBufferPointer { gp in
            dx.withUnsafeMutableBufferPointer { dp in
                let g = gp.baseAddress!, d = dp.baseAddress!
                runs.forEachRun { o, _, ib, n, _, sb in
                    for j in 0..<n { d[o + j] = g[ib + j * sb] * inverse }
                }
            }
        }
        grads[0] = FloatTensor(dims: inputDims, scalars: dx)
        return grads
    }

    func release() {}
}
