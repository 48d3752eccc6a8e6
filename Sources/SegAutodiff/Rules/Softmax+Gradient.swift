import Foundation
import SegKernels

/// Softmax and LogSoftmax. From opset 13 they normalise along one axis (default −1); before
/// 13 the input is coerced to 2-D at `axis` (default 1) and each row of the axes from `axis`
/// on is normalised as one. Both views are [outer, length, inner] here: inner is 1 for the
/// coerced form and for a last axis, where the rows are contiguous and the forward runs the
/// inference kernel. Backward, with y the output:
/// Softmax dx = y·(dy − Σ dy·y); LogSoftmax dx = dy − e^y·Σ dy (sums along the axis).
enum SoftmaxGradients {
    static let all = [
        GradientRule("Softmax") { ctx throws(AutodiffError) in try SoftmaxStep(ctx, log: false) },
        GradientRule("LogSoftmax") { ctx throws(AutodiffError) in try SoftmaxStep(ctx, log: true) },
    ]
}

final class SoftmaxStep: DifferentiableStep {
    let label: String
    let log: Bool
    let dims: [Int]
    let outer: Int, length: Int, inner: Int
    let context: KernelContext
    private var savedOutput: [Float]?

    init(_ ctx: RuleContext, log: Bool) throws(AutodiffError) {
        label = ctx.label
        self.log = log
        context = ctx.kernels
        let x = try ctx.inputShape(0)
        let coerce = ctx.attributes.opset < 13
        let raw = try ctx.attribute { try $0.int("axis", default: coerce ? 1 : -1) }
        let axis = raw < 0 ? raw + x.count : raw
        guard (0..<max(1, x.count)).contains(axis) else { throw ctx.error("axis \(raw) is out of range for rank \(x.count)") }
        dims = x
        outer = x.isEmpty ? 1 : x[..<axis].reduce(1, *)
        if coerce || x.isEmpty {
            length = x.isEmpty ? 1 : x[axis...].reduce(1, *)
            inner = 1
        } else {
            length = x[axis]
            inner = x[(axis + 1)...].reduce(1, *)
        }
        guard length >= 1 else { throw ctx.error("cannot normalise along an empty axis (input \(x))") }
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        var y = [Float](repeating: 0, count: x.count)
        let (outer, length, inner, log) = (outer, length, inner, log)
        x.scalars.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                let src = xp.baseAddress!, dst = yp.baseAddress!
                if inner == 1 && !log {
                    // Contiguous rows: the inference kernel (shapes are valid by construction).
                    try? softmax(src, dst, rows: outer, length: length, context: context)
                    return
                }
                context.pool.parallelFor(outer * inner) { range in
                    for line in range {
                        let base = (line / inner) * length * inner + line % inner
                        var top = -Float.infinity
                        for i in 0..<length { top = max(top, src[base + i * inner]) }
                        var sum: Float = 0
                        for i in 0..<length { let e = Foundation.exp(src[base + i * inner] - top); dst[base + i * inner] = e; sum += e }
                        if log {
                            let shift = top + Foundation.log(sum)
                            for i in 0..<length { dst[base + i * inner] = src[base + i * inner] - shift }
                        } else {
                            let inverse = 1 / sum
                            for i in 0..<length { dst[base + i * inner] *= inverse }
                        }
                    }
                }
            }
        }
        savedOutput = y
        return [FloatTensor(dims: dims, scalars: y)]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard wanted[0], let dy = outputGradients[0] else { return grads }
        guard let y = savedOutput else { throw .node(label, "backward before forward") }
        var dx = [Float](repeating: 0, count: y.count)
        let (length, inner, log) = (length, inner, log)
        y.withUnsafeBufferPointer { yp in
            dy.scalars.withUnsafeBufferPointer { gp in
                dx.withUnsafeMutableBufferPointer { dp in
                    let out = yp.baseAddress!, g = gp.baseAddress!, d = dp.baseAddress!
                    context.pool.parallelFor(outer * inner) { range in
                        for line in range {
                            let base = (line / inner) * length * inner + line % inner
                            var sum: Float = 0
                            if log {
                                for i in 0..<length { sum += g[base + i * inner] }
                                for i in 0..<length { let k = base + i * inner; d[k] = g[k] - Foundation.exp(out[k]) * sum }
                            } else {
                                for i in 0..<length { let k = base + i * inner; sum += g[k] * out[k] }
                                for i in 0..<length { let k = base + i * inner; d[k] = out[k] * (g[k] - sum) }
                            }
                        }
                    }
                }
            }
        }
        grads[0] = FloatTensor(dims: dims, scalars: dx)
        return grads
    }

    func release() { savedOutput = nil }
}
