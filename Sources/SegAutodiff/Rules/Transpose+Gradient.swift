import SegKernels

/// Transpose by `perm` (default: reversed axes) on SegKernels' blocked transpose; the
/// backward is the transpose by the inverse permutation.
enum TransposeGradients {
    static let all = [GradientRule("Transpose") { ctx throws(AutodiffError) in try TransposeStep(ctx) }]
}

final class TransposeStep: DifferentiableStep {
    let label: String
    let forwardPlan: TransposePlan, backwardPlan: TransposePlan
    let inputDims: [Int]
    let context: KernelContext

    init(_ ctx: RuleContext) throws(AutodiffError) {
        label = ctx.label
        context = ctx.kernels
        let x = try ctx.inputShape(0)
        let perm = try ctx.attribute { try $0.ints("perm") } ?? Array(x.indices.reversed())
        guard perm.count == x.count, Set(perm) == Set(x.indices) else { throw ctx.error("perm \(perm) is not a permutation of the \(x.count) axes") }
        var inverse = perm
        for (i, p) in perm.enumerated() { inverse[p] = i }
        do {
            forwardPlan = try TransposePlan(dims: x, permutation: perm)
            backwardPlan = try TransposePlan(dims: forwardPlan.outputDims, permutation: inverse)
        } catch {
            throw ctx.error("perm: \(error)")
        }
        inputDims = x
    }

    private func apply(_ plan: TransposePlan, _ x: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                guard let src = xp.baseAddress, let dst = yp.baseAddress else { return }
                plan.run(src, dst, context: context)
            }
        }
        return y
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        return [FloatTensor(dims: forwardPlan.outputDims, scalars: apply(forwardPlan, x.scalars))]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        if wanted[0], let dy = outputGradients[0] { grads[0] = FloatTensor(dims: inputDims, scalars: apply(backwardPlan, dy.scalars)) }
        return grads
    }

    func release() {}
}
