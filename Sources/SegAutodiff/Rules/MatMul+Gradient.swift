import SegKernels

/// MatMul with NumPy semantics (batched, batch axes broadcast, 1-D operands promoted and their
/// unit axis dropped) on SegKernels' `matmul` / `sgemm`. Per output matrix i reading A[a(i)]
/// and B[b(i)]: dA[a(i)] += dY_i·B[b(i)]ᵀ and dB[b(i)] += A[a(i)]ᵀ·dY_i, accumulated with
/// beta 1 so broadcast operands sum over the batches that shared them. When every product
/// reads one B and consecutive A's (a linear layer over a batch), the batch folds into the
/// rows: dA is one GEMM and dB one GEMM whose depth is batch·M.
enum MatMulGradients {
    static let all = [
        GradientRule("MatMul") { ctx throws(AutodiffError) in try MatMulStep(ctx) },
        GradientRule("Gemm") { ctx throws(AutodiffError) in try GemmStep(ctx) },
    ]
}

final class MatMulStep: DifferentiableStep {
    let label: String
    let shape: MatMulShape
    let aDims: [Int], bDims: [Int]
    let fixed: [[Float]?]
    let context: KernelContext
    private var saved: (a: [Float], b: [Float])?

    init(_ ctx: RuleContext) throws(AutodiffError) {
        label = ctx.label
        context = ctx.kernels
        aDims = try ctx.inputShape(0)
        bDims = try ctx.inputShape(1)
        do { shape = try MatMulShape(a: aDims, b: bDims) } catch { throw ctx.error("\(error)") }
        if let inferred = ctx.outputShapes.first ?? nil, inferred != shape.outputDims {
            throw ctx.error("product shape \(shape.outputDims) disagrees with shape inference's \(inferred)")
        }
        fixed = [try ctx.constantFloats(0), try ctx.constantFloats(1)]
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let a = inputs[0]?.scalars ?? fixed[0], let b = inputs[1]?.scalars ?? fixed[1] else {
            throw .node(label, "an operand is missing")
        }
        var y = [Float](repeating: 0, count: shape.outputDims.reduce(1, *))
        do {
            try a.withUnsafeBufferPointer { ap throws(KernelError) in
                try b.withUnsafeBufferPointer { bp throws(KernelError) in
                    try y.withUnsafeMutableBufferPointer { yp throws(KernelError) in
                        guard let pa = ap.baseAddress, let pb = bp.baseAddress, let py = yp.baseAddress else { return }
                        try matmul(shape, a: pa, b: pb, c: py, context: context)
                    }
                }
            }
        } catch {
            throw .node(label, "\(error)")
        }
        saved = (a, b)
        return [FloatTensor(dims: shape.outputDims, scalars: y)]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard let dy = outputGradients[0] else { return grads }
        guard let saved else { throw .node(label, "backward before forward") }
        let (m, n, k) = (shape.m, shape.n, shape.k)
        var da = [Float](repeating: 0, count: wanted[0] ? aDims.reduce(1, *) : 0)
        var db = [Float](repeating: 0, count: wanted[1] ? bDims.reduce(1, *) : 0)
        guard m > 0, n > 0, k > 0, shape.batches > 0 else {
            if wanted[0] { grads[0] = FloatTensor(dims: aDims, scalars: da) }
            if wanted[1] { grads[1] = FloatTensor(dims: bDims, scalars: db) }
            return grads
        }
        let shape = shape, context = context
        do {
            try saved.a.withUnsafeBufferPointer { ap throws(KernelError) in
                try saved.b.withUnsafeBufferPointer { bp throws(KernelError) in
                    try dy.scalars.withUnsafeBufferPointer { gp throws(KernelError) in
                        try da.withUnsafeMutableBufferPointer { dap throws(KernelError) in
                            try db.withUnsafeMutableBufferPointer { dbp throws(KernelError) in
                                let a = ap.baseAddress!, b = bp.baseAddress!, g = gp.baseAddress!
                                if let d = dap.baseAddress {
                                    if shape.foldsIntoRows {
                                        try sgemm(m: m * shape.batches, n: k, k: n, a: g, lda: n, b: b, ldb: n, transposeB: true,
                                                  c: d, ldc: k, context: context)
                                    } else {
                                        for i in 0..<shape.batches {
                                            try sgemm(m: m, n: k, k: n, a: g + i * m * n, lda: n, b: b + shape.bIndex[i] * k * n, ldb: n,
                                                      transposeB: true, beta: 1, c: d + shape.aIndex[i] * m * k, ldc: k, context: context)
                                        }
                                    }
                                }
                                if let d = dbp.baseAddress {
                                    if shape.foldsIntoRows {
                                        try sgemm(m: k, n: n, k: m * shape.batches, a: a, lda: k, transposeA: true, b: g, ldb: n,
                                                  c: d, ldc: n, context: context)
                                    } else {
                                        for i in 0..<shape.batches {
                                            try sgemm(m: k, n: n, k: m, a: a + shape.aIndex[i] * m * k, lda: k, transposeA: true,
                                                      b: g + i * m * n, ldb: n, beta: 1, c: d + shape.bIndex[i] * k * n, ldc: n, context: context)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        } catch {
            throw .node(label, "\(error)")
        }
        if wanted[0] { grads[0] = FloatTensor(dims: aDims, scalars: da) }
        if wanted[1] { grads[1] = FloatTensor(dims: bDims, scalars: db) }
        return grads
    }

    func release() { saved = nil }
}
