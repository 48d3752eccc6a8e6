import SegKernels

/// GlobalAveragePool: the mean of each plane; its gradient spreads evenly back.
enum PoolGradients {
    static let all: [GradientRule] = [
        GradientRule("GlobalAveragePool") { ctx throws(AutodiffError) in
            let x = try ctx.inputShape(0)
            guard x.count >= 3 else { throw ctx.error("needs an input of rank ≥ 3, got \(x)") }
            return GlobalAveragePoolStep(label: ctx.label, dims: x, context: ctx.kernels)
        },
    ]
}

final class GlobalAveragePoolStep: DifferentiableStep {
    let label: String
    let dims: [Int]
    let planes: Int, plane: Int
    let context: KernelContext

    init(label: String, dims: [Int], context: KernelContext) {
        self.label = label
        self.dims = dims
        planes = dims[0] * dims[1]
        plane = dims[2...].reduce(1, *)
        self.context = context
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        var y = [Float](repeating: 0, count: planes)
        let plane = plane
        x.scalars.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                let src = xp.baseAddress!, dst = yp.baseAddress!
                context.pool.parallelFor(planes) { range in
                    for p in range {
                        var s: Float = 0
                        let base = src + p * plane
                        for i in 0..<plane { s += base[i] }
                        dst[p] = s / Float(plane)
                    }
                }
            }
        }
        return [FloatTensor(dims: Array(dims[..<2]) + Array(repeating: 1, count: dims.count - 2), scalars: y)]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard wanted[0], let dy = outputGradients[0] else { return grads }
        var dx = [Float](repeating: 0, count: planes * plane)
        let plane = plane
        dx.withUnsafeMutableBufferPointer { dp in
            let d = dp.baseAddress!
            for p in 0..<planes {
                (d + p * plane).update(repeating: dy.scalars[p] / Float(plane), count: plane)
            }
        }
        grads[0] = FloatTensor(dims: dims, scalars: dx)
        return grads
    }

    func release() {}
}
