import SegKernels

/// Gemm: Y = alpha·A'·B' + beta·C with A' = transA ? Aᵀ : A (M×K), B' = transB ? Bᵀ : B (K×N),
/// C broadcast to M×N (optional from opset 11). Every product is one `sgemm` with the
/// operands' stored layouts passed as transposes, so no operand is ever copied:
/// dA' = alpha·dY·B'ᵀ (stored as its transpose when transA), dB' = alpha·A'ᵀ·dY (likewise),
/// dC = beta·dY summed over the axes C broadcasts along.
final class GemmStep: DifferentiableStep {
    let label: String
    let transA: Bool, transB: Bool
    let alpha: Float, beta: Float
    let m: Int, n: Int, k: Int
    let aDims: [Int], bDims: [Int]
    /// C against the output: nil without C.
    let cRuns: BroadcastRuns?
    let fixed: [[Float]?]
    let context: KernelContext
    private var saved: (a: [Float], b: [Float])?

    init(_ ctx: RuleContext) throws(AutodiffError) {
        label = ctx.label
        context = ctx.kernels
        transA = try ctx.attribute { try $0.int("transA", default: 0) } != 0
        transB = try ctx.attribute { try $0.int("transB", default: 0) } != 0
        alpha = try ctx.attribute { try $0.float("alpha", default: 1) }
        beta = try ctx.attribute { try $0.float("beta", default: 1) }
        aDims = try ctx.inputShape(0)
        bDims = try ctx.inputShape(1)
        guard aDims.count == 2, bDims.count == 2 else { throw ctx.error("A \(aDims) and B \(bDims) must be matrices") }
        m = transA ? aDims[1] : aDims[0]
        k = transA ? aDims[0] : aDims[1]
        n = transB ? bDims[0] : bDims[1]
        let kb = transB ? bDims[1] : bDims[0]
        guard k == kb else { throw ctx.error("K differs between A \(aDims) (transA \(transA)) and B \(bDims) (transB \(transB))") }
        if ctx.node.inputs.count > 2, !ctx.node.inputs[2].isEmpty {
            let c = try ctx.inputShape(2)
            if ctx.attributes.opset < 7, c != [m, n], try ctx.attribute({ try $0.int("broadcast", default: 0) }) == 0 {
                throw ctx.error("C \(c) differs from [\(m), \(n)] and the broadcast attribute is 0")
            }
            guard c.count <= 2, let runs = BroadcastRuns([m, n], c), runs.outputDims == [m, n] else {
                throw ctx.error("C of shape \(c) does not broadcast to [\(m), \(n)]")
            }
            cRuns = runs
        } else {
            if ctx.attributes.opset < 11 { throw ctx.error("input C is required before opset 11") }
            cRuns = nil
        }
        fixed = [try ctx.constantFloats(0), try ctx.constantFloats(1), try ctx.constantFloats(2)]
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let a = inputs[0]?.scalars ?? fixed[0], let b = inputs[1]?.scalars ?? fixed[1] else {
            throw .node(label, "an operand is missing")
        }
        var y = [Float](repeating: 0, count: m * n)
        if let cRuns {
            guard let c = (inputs.count > 2 ? inputs[2]?.scalars : nil) ?? fixed[2] else { throw .node(label, "C is missing") }
            let beta = beta
            y.withUnsafeMutableBufferPointer { yp in
                let out = yp.baseAddress!
                cRuns.forEachRun { o, _, ic, count, _, sc in for j in 0..<count { out[o + j] = beta * c[ic + j * sc] } }
            }
        }
        if m > 0, n > 0, k > 0 {
            do {
                try a.withUnsafeBufferPointer { ap throws(KernelError) in
                    try b.withUnsafeBufferPointer { bp throws(KernelError) in
                        try y.withUnsafeMutableBufferPointer { yp throws(KernelError) in
                            try sgemm(m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: aDims[1], transposeA: transA,
                                      b: bp.baseAddress!, ldb: bDims[1], transposeB: transB, beta: cRuns == nil ? 0 : 1,
                                      c: yp.baseAddress!, ldc: n, context: context)
                        }
                    }
                }
            } catch {
                throw .node(label, "\(error)")
            }
        }
        saved = (a, b)
        return [FloatTensor(dims: [m, n], scalars: y)]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard let dy = outputGradients[0] else { return grads }
        guard let saved else { throw .node(label, "backward before forward") }
        let (m, n, k, alpha, transA, transB) = (m, n, k, alpha, transA, transB)
        var da = [Float](repeating: 0, count: wanted[0] ? m * k : 0)
        var db = [Float](repeating: 0, count: wanted[1] ? k * n : 0)
        if m > 0, n > 0, k > 0 {
            do {
                try saved.a.withUnsafeBufferPointer { ap throws(KernelError) in
                    try saved.b.withUnsafeBufferPointer { bp throws(KernelError) in
                        try dy.scalars.withUnsafeBufferPointer { gp throws(KernelError) in
                            try da.withUnsafeMutableBufferPointer { dap throws(KernelError) in
                                try db.withUnsafeMutableBufferPointer { dbp throws(KernelError) in
                                    let a = ap.baseAddress!, b = bp.baseAddress!, g = gp.baseAddress!
                                    if let d = dap.baseAddress {
                                        if transA {
                                            // dA [K×M] = alpha·B'·dYᵀ.
                                            try sgemm(m: k, n: m, k: n, alpha: alpha, a: b, lda: bDims[1], transposeA: transB,
                                                      b: g, ldb: n, transposeB: true, c: d, ldc: m, context: context)
                                        } else {
                                            // dA [M×K] = alpha·dY·B'ᵀ.
                                            try sgemm(m: m, n: k, k: n, alpha: alpha, a: g, lda: n, b: b, ldb: bDims[1],
                                                      transposeB: !transB, c: d, ldc: k, context: context)
                                        }
                                    }
                                    if let d = dbp.baseAddress {
                                        if transB {
                                            // dB [N×K] = alpha·dYᵀ·A'.
                                            try sgemm(m: n, n: k, k: m, alpha: alpha, a: g, lda: n, transposeA: true,
                                                      b: a, ldb: aDims[1], transposeB: transA, c: d, ldc: k, context: context)
                                        } else {
                                            // dB [K×N] = alpha·A'ᵀ·dY.
                                            try sgemm(m: k, n: n, k: m, alpha: alpha, a: a, lda: aDims[1], transposeA: !transA,
                                                      b: g, ldb: n, c: d, ldc: n, context: context)
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
        }
        if wanted[0] { grads[0] = FloatTensor(dims: aDims, scalars: da) }
        if wanted[1] { grads[1] = FloatTensor(dims: bDims, scalars: db) }
        if wanted.count > 2, wanted[2], let cRuns {
            var dc = [Float](repeating: 0, count: cRuns.bDims.reduce(1, *))
            let beta = beta
            dy.scalars.withUnsafeBufferPointer { gp in
                dc.withUnsafeMutableBufferPointer { cp in
                    let g = gp.baseAddress!, out = cp.baseAddress!
                    cRuns.forEachRun { o, _, ic, count, _, sc in for j in 0..<count { out[ic + j * sc] += beta * g[o + j] } }
                }
            }
            grads[2] = FloatTensor(dims: cRuns.bDims, scalars: dc)
        }
        return grads
    }

    func release() { saved = nil }
}
