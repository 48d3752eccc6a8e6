import Testing
@testable import SegKernels

/// Naive C = alpha·op(A)·op(B) + beta·C, then bias, activation, residual, in Double.
private func referenceGEMM(m: Int, n: Int, k: Int, alpha: Float, a: [Float], transposeA: Bool, b: [Float],
                           transposeB: Bool, beta: Float, c: [Float], epilogue: (bias: [Float]?, perRow: Bool,
                           activation: Activation, residual: [Float]?, before: Bool)) -> [Float] {
    var out = c
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let av = transposeA ? a[p * m + i] : a[i * k + p]
                let bv = transposeB ? b[j * k + p] : b[p * n + j]
                sum += Double(av) * Double(bv)
            }
            var v = Double(alpha) * sum + (beta == 0 ? 0 : Double(beta) * Double(c[i * n + j]))
            if let bias = epilogue.bias { v += Double(bias[epilogue.perRow ? i : j]) }
            if let r = epilogue.residual, epilogue.before { v += Double(r[i * n + j]) }
            v = referenceActivation(epilogue.activation, v)
            if let r = epilogue.residual, !epilogue.before { v += Double(r[i * n + j]) }
            out[i * n + j] = Float(v)
        }
    }
    return out
}

@Suite struct GEMMTests {
    /// Odd sizes around the 6×16 tile and the 256-deep K block, incl. K > 256 (two passes).
    static let sizes: [(Int, Int, Int)] = [(1, 1, 1), (6, 16, 8), (7, 17, 5), (13, 33, 19), (5, 40, 300), (25, 3, 2)]

    @Test(arguments: contexts.indices)
    func rawOperandsAllLayouts(_ contextIndex: Int) throws {
        let context = contexts[contextIndex]
        for (m, n, k) in Self.sizes {
            for (transposeA, transposeB) in [(false, false), (true, false), (false, true)] {
                for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (1, -0.75)] {
                    let a = randomValues(m * k, seed: 1), b = randomValues(k * n, seed: 2), c0 = randomValues(m * n, seed: 3)
                    var c = c0
                    try sgemm(m: m, n: n, k: k, alpha: alpha, a: a, lda: transposeA ? m : k, transposeA: transposeA,
                              b: b, ldb: transposeB ? k : n, transposeB: transposeB, beta: beta, c: &c, ldc: n,
                              context: context)
                    let expected = referenceGEMM(m: m, n: n, k: k, alpha: alpha, a: a, transposeA: transposeA, b: b,
                                                 transposeB: transposeB, beta: beta, c: c0,
                                                 epilogue: (nil, true, .none, nil, true))
                    expectClose(c, expected, "\(m)×\(n)×\(k) tA=\(transposeA) tB=\(transposeB) α=\(alpha) β=\(beta) \(describe(context))")
                }
            }
        }
    }

    /// Full tiles run two A panels at a time on the 12×16 AVX-512 kernel where the CPU has it:
    /// the same sums as the 6×16 AVX2 tile, bit for bit (edge rows and columns, two K blocks,
    /// beta 0 and an accumulating beta, an epilogue with bias, activation and residual), and
    /// within the reference's tolerance.
    @Test func avx512TilesMatchTheAVX2TileBitForBit() throws {
        guard KernelISA.avx2.isAvailable else { return }
        let (m, n, k) = (31, 50, 300)
        let a = randomValues(m * k, seed: 11), b = randomValues(k * n, seed: 12), c0 = randomValues(m * n, seed: 13)
        let bias = randomValues(m, seed: 14), residual = randomValues(m * n, seed: 15)
        for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (1, -0.75)] {
            var results: [[Float]] = []
            for wide in [false, true] {
                var options = KernelOptions.standard
                options.gemmAVX512 = wide
                var c = c0
                try residual.withUnsafeBufferPointer { r in
                    try bias.withUnsafeBufferPointer { bp in
                        let epilogue = Epilogue(bias: .perRow(bp.baseAddress!), activation: .relu, residual: r.baseAddress!,
                                                residualLeadingDimension: n, residualBeforeActivation: true)
                        try sgemm(m: m, n: n, k: k, alpha: alpha, a: a, lda: k, b: b, ldb: n, beta: beta, c: &c, ldc: n,
                                  epilogue: epilogue, context: KernelContext(pool: ThreadPool(threadCount: 1), isa: .avx2, options: options))
                    }
                }
                results.append(c)
            }
            #expect(results[0] == results[1], "α=\(alpha) β=\(beta)")
            let expected = referenceGEMM(m: m, n: n, k: k, alpha: alpha, a: a, transposeA: false, b: b, transposeB: false,
                                         beta: beta, c: c0, epilogue: (bias, true, .relu, residual, true))
            expectClose(results[1], expected, "α=\(alpha) β=\(beta)")
        }
    }

    /// Shallow products with an output past `GemmDriver.largeOutputFloats` run their tile loops
    /// A panels outer: odd M and N (edge tiles), packed weights, bias and activation in the
    /// epilogue, beta = 1 accumulation, as a 1×1 conv from few channels on a large map has them.
    @Test(arguments: contexts.indices)
    func shallowProductsWithLargeOutputs(_ contextIndex: Int) throws {
        let context = contexts[contextIndex]
        let (m, k) = (13, 9)
        let n = GemmDriver.largeOutputFloats / m + 37
        #expect(m * n >= GemmDriver.largeOutputFloats && k <= GemmDriver.shallowDepth)
        let a = randomValues(m * k, seed: 31), b = randomValues(k * n, seed: 32), bias = randomValues(m, seed: 33)
        let c0 = randomValues(m * n, seed: 34)
        let packedA = try PackedMatrix(a: a, rows: m, columns: k, leadingDimension: k)
        var c = [Float](repeating: .nan, count: m * n)
        try bias.withUnsafeBufferPointer { bp in
            try sgemm(packedA: packedA, n: n, b: b, ldb: n, c: &c, ldc: n,
                      epilogue: Epilogue(bias: .perRow(bp.baseAddress!), activation: .relu), context: context)
        }
        expectClose(c, referenceGEMM(m: m, n: n, k: k, alpha: 1, a: a, transposeA: false, b: b, transposeB: false, beta: 0, c: c,
                                     epilogue: (bias, true, .relu, nil, true)), "packed, bias, relu \(describe(context))")
        var accumulated = c0
        try sgemm(m: m, n: n, k: k, alpha: 0.5, a: a, lda: k, b: b, ldb: n, beta: 1, c: &accumulated, ldc: n, context: context)
        expectClose(accumulated, referenceGEMM(m: m, n: n, k: k, alpha: 0.5, a: a, transposeA: false, b: b, transposeB: false, beta: 1,
                                               c: c0, epilogue: (nil, true, .none, nil, true)), "strided, beta 1 \(describe(context))")
    }

    @Test(arguments: contexts.indices)
    func packedOperandsWithEpilogues(_ contextIndex: Int) throws {
        let context = contexts[contextIndex]
        for (m, n, k) in Self.sizes {
            let a = randomValues(m * k, seed: 4), b = randomValues(k * n, seed: 5)
            let rowBias = randomValues(m, seed: 6), columnBias = randomValues(n, seed: 7)
            let residual = randomValues(m * n, seed: 8)
            let packedA = try PackedMatrix(a: a, rows: m, columns: k, leadingDimension: k)
            let packedB = try PackedMatrix(b: b, rows: k, columns: n, leadingDimension: n)
            for activation in allActivations {
                for before in [true, false] {
                    var c = [Float](repeating: .nan, count: m * n)
                    try rowBias.withUnsafeBufferPointer { bias in
                        try residual.withUnsafeBufferPointer { res in
                            let epilogue = Epilogue(bias: .perRow(bias.baseAddress!), activation: activation,
                                                    residual: res.baseAddress!, residualLeadingDimension: n,
                                                    residualBeforeActivation: before)
                            try sgemm(packedA: packedA, n: n, b: b, ldb: n, c: &c, ldc: n, epilogue: epilogue, context: context)
                        }
                    }
                    let expected = referenceGEMM(m: m, n: n, k: k, alpha: 1, a: a, transposeA: false, b: b, transposeB: false,
                                                 beta: 0, c: c, epilogue: (rowBias, true, activation, residual, before))
                    expectClose(c, expected, "packedA \(m)×\(n)×\(k) \(activation) before=\(before) \(describe(context))")
                }
                var c = [Float](repeating: .nan, count: m * n)
                try columnBias.withUnsafeBufferPointer { bias in
                    try sgemm(m: m, a: a, lda: k, packedB: packedB, c: &c, ldc: n,
                              epilogue: Epilogue(bias: .perColumn(bias.baseAddress!), activation: activation), context: context)
                }
                let expected = referenceGEMM(m: m, n: n, k: k, alpha: 1, a: a, transposeA: false, b: b, transposeB: false,
                                             beta: 0, c: c, epilogue: (columnBias, false, activation, nil, true))
                expectClose(c, expected, "packedB \(m)×\(n)×\(k) \(activation) \(describe(context))")
            }
        }
    }

    @Test func leadingDimensionsLargerThanRows() throws {
        let (m, n, k) = (5, 9, 7)
        let a = randomValues(m * 10, seed: 9), b = randomValues(k * 12, seed: 10)
        var c = [Float](repeating: 0, count: m * 11)
        try sgemm(m: m, n: n, k: k, a: a, lda: 10, b: b, ldb: 12, c: &c, ldc: 11, context: contexts[0])
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k { sum += a[i * 10 + p] * b[p * 12 + j] }
                #expect(abs(c[i * 11 + j] - sum) <= 1e-5 + 1e-4 * abs(sum))
            }
            for j in n..<11 { #expect(c[i * 11 + j] == 0, "padding columns are not written") }
        }
    }

    @Test func invalidParametersThrow() {
        let a: [Float] = [1, 2, 3, 4]
        var c: [Float] = [0, 0, 0, 0]
        #expect(throws: KernelError.self) { try sgemm(m: 2, n: 2, k: 2, a: a, lda: 1, b: a, ldb: 2, c: &c, ldc: 2) }
        #expect(throws: KernelError.self) { try sgemm(m: -1, n: 2, k: 2, a: a, lda: 2, b: a, ldb: 2, c: &c, ldc: 2) }
        #expect(throws: KernelError.self) { try PackedMatrix(a: a, rows: 0, columns: 2, leadingDimension: 2) }
    }
}
