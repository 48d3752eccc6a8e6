import Foundation
import Testing
@testable import SegKernels

/// MatMul, Softmax, LayerNormalization, Transpose, broadcasting arithmetic and the pointwise
/// functions against naive loops in Double (or exact index arithmetic), odd sizes included.
@Suite struct TensorOpsKernelTests {
    /// Row-major strides of `dims`.
    static func strides(_ dims: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: dims.count)
        for d in stride(from: dims.count - 2, through: 0, by: -1) where d >= 0 { s[d] = s[d + 1] * dims[d + 1] }
        return s
    }

    /// Multi-index of flat `index` in `dims`.
    static func index(_ flat: Int, _ dims: [Int]) -> [Int] {
        var rest = flat, out = [Int](repeating: 0, count: dims.count)
        for d in stride(from: dims.count - 1, through: 0, by: -1) { out[d] = rest % dims[d]; rest /= dims[d] }
        return out
    }

    /// NumPy-broadcast element of `values` (shape `dims`) at output multi-index `at`.
    static func element(_ values: [Float], _ dims: [Int], at: [Int]) -> Float {
        let pad = at.count - dims.count
        var flat = 0
        for (d, n) in dims.enumerated() { flat = flat * n + (n == 1 ? 0 : at[pad + d]) }
        return values[flat]
    }

    // MARK: - MatMul

    static let matmulCases: [([Int], [Int])] = [
        ([5, 7], [7, 3]), ([2, 3, 13, 9], [9, 17]), ([2, 1, 4, 5], [3, 5, 6]), ([7], [7, 4]), ([3, 7], [7]),
        ([1, 2, 11, 6], [1, 2, 6, 19]), ([6, 2, 3], [6, 3, 2]),
    ]

    @Test(arguments: matmulCases)
    func matmulBroadcastsBatchesLikeNumPy(_ ad: [Int], _ bd: [Int]) throws {
        let shape = try MatMulShape(a: ad, b: bd)
        let a = randomValues(ad.reduce(1, *), seed: 3), b = randomValues(bd.reduce(1, *), seed: 4)
        let pa = ad.count == 1 ? [1] + ad : ad, pb = bd.count == 1 ? bd + [1] : bd
        let (m, k, n) = (pa[pa.count - 2], pa[pa.count - 1], pb[pb.count - 1])
        let batchDims = Array(shape.outputDims.prefix(shape.outputDims.count - (ad.count > 1 ? 1 : 0) - (bd.count > 1 ? 1 : 0)))
        var expected: [Float] = []
        for batch in 0..<max(1, batchDims.reduce(1, *)) {
            let at = Self.index(batch, batchDims)
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for p in 0..<k {
                        s += Double(Self.element(a, pa, at: at + [i, p])) * Double(Self.element(b, pb, at: at + [p, j]))
                    }
                    expected.append(Float(s))
                }
            }
        }
        for context in contexts {
            var c = [Float](repeating: .nan, count: expected.count)
            try a.withUnsafeBufferPointer { ap in
                try b.withUnsafeBufferPointer { bp in
                    try matmul(shape, a: ap.baseAddress!, b: bp.baseAddress!, c: &c, context: context)
                }
            }
            expectClose(c, expected, "\(ad)·\(bd) \(describe(context))")
        }
    }

    @Test func matmulWithPackedBFusesScaleBiasResidualActivation() throws {
        let (m, k, n) = (2 * 13, 37, 21)
        let shape = try MatMulShape(a: [2, 13, k], b: [k, n])
        let a = randomValues(m * k, seed: 5), w = randomValues(k * n, seed: 6)
        let bias = randomValues(n, seed: 7), residual = randomValues(m * n, seed: 8)
        let packed = try PackedMatrix(b: w, rows: k, columns: n, leadingDimension: n)
        var expected: [Float] = []
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(w[p * n + j]) }
                expected.append(max(0, Float(0.5 * s) + bias[j] + residual[i * n + j]))
            }
        }
        for context in contexts {
            var c = [Float](repeating: .nan, count: m * n)
            try matmul(shape, alpha: 0.5, a: a, b: nil, packedB: packed, c: &c, bias: bias, residual: residual, activation: .relu, context: context)
            expectClose(c, expected, "packed \(describe(context))")
        }
    }

    @Test func matmulRejectsMismatchedDepth() {
        #expect(throws: KernelError.self) { try MatMulShape(a: [3, 4], b: [5, 2]) }
        #expect(throws: KernelError.self) { try MatMulShape(a: [2, 3, 4], b: [3, 4, 2]) }
    }

    /// (Q, Kᵀ, V) shapes: batches broadcast, ragged row blocks and tiles, and depths past one
    /// packed block (Tile.kc) in both products.
    static let attentionCases: [([Int], [Int], [Int])] = [
        ([2, 1, 131, 5], [1, 3, 5, 23], [2, 3, 23, 7]), ([1, 13, 260], [1, 260, 300], [1, 300, 20]),
    ]

    @Test(arguments: attentionCases)
    func attentionMatchesItsThreeSteps(_ qd: [Int], _ kd: [Int], _ vd: [Int]) throws {
        let scores = try MatMulShape(a: qd, b: kd)
        let second = try MatMulShape(a: scores.outputDims, b: vd)
        let q = randomValues(qd.reduce(1, *), seed: 51), kt = randomValues(kd.reduce(1, *), seed: 52), v = randomValues(vd.reduce(1, *), seed: 53)
        var s = [Float](repeating: 0, count: scores.outputDims.reduce(1, *))
        try matmul(scores, alpha: 0.7, a: q, b: kt, c: &s, context: contexts[0])
        var p = s
        try softmax(s, &p, rows: s.count / scores.n, length: scores.n)
        var expected = [Float](repeating: 0, count: second.outputDims.reduce(1, *))
        try matmul(second, a: p, b: v, c: &expected, context: contexts[0])
        for context in contexts {
            var o = [Float](repeating: .nan, count: expected.count)
            try attention(scores: scores, context: second, scale: 0.7, q: q, keys: kt, v: v, output: &o, context: context)
            expectClose(o, expected, rtol: 1e-5, atol: 1e-6, "attention \(qd) \(describe(context))")
        }
    }

    // MARK: - Softmax and LayerNormalization

    @Test(arguments: [1, 7, 8, 13, 33, 180])
    func softmaxMatchesDouble(_ length: Int) throws {
        let rows = 5
        var x = randomValues(rows * length, seed: UInt64(length)).map { $0 * 30 }
        x[0] = 80  // large values must not overflow
        var expected: [Float] = []
        for r in 0..<rows {
            let row = x[(r * length)..<((r + 1) * length)].map(Double.init)
            let top = row.max() ?? 0
            let e = row.map { exp($0 - top) }
            let s = e.reduce(0, +)
            expected += e.map { Float($0 / s) }
        }
        for context in contexts {
            var y = [Float](repeating: .nan, count: x.count)
            try softmax(x, &y, rows: rows, length: length, context: context)
            expectClose(y, expected, rtol: 2e-6, atol: 1e-9, "softmax \(length) \(describe(context))")
        }
    }

    @Test(arguments: [1, 5, 8, 32, 61])
    func layerNormalizationMatchesDouble(_ length: Int) throws {
        let rows = 6
        let x = randomValues(rows * length, seed: 11).enumerated().map { $0.element * 3 + Float($0.offset % 5) }
        let scale = randomValues(length, seed: 12), bias = randomValues(length, seed: 13)
        var expected: [Float] = []
        for r in 0..<rows {
            let row = x[(r * length)..<((r + 1) * length)].map(Double.init)
            let mean = row.reduce(0, +) / Double(length)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(length)
            expected += row.enumerated().map { Float(($0.element - mean) / (variance + 1e-5).squareRoot() * Double(scale[$0.offset]) + Double(bias[$0.offset])) }
        }
        for context in contexts {
            var y = [Float](repeating: .nan, count: x.count)
            try layerNormalization(x, &y, rows: rows, length: length, scale: scale, bias: bias, epsilon: 1e-5, context: context)
            expectClose(y, expected, rtol: 1e-5, atol: 1e-5, "layernorm \(length) \(describe(context))")
        }
    }

    // MARK: - Transpose

    static let transposeCases: [([Int], [Int])] = [
        ([2, 3, 4, 5], [0, 2, 1, 3]), ([2, 3, 4, 5], [3, 2, 1, 0]), ([1, 19, 21], [0, 2, 1]), ([1, 40, 24], [0, 2, 1]),
        ([3, 1, 9, 17], [0, 1, 3, 2]), ([1, 7, 2, 1, 5], [2, 0, 3, 1, 4]), ([4, 6], [1, 0]), ([5], [0]), ([2, 9, 1, 16], [3, 0, 2, 1]),
        ([1, 70, 131], [0, 2, 1]), ([3, 67, 2, 9], [0, 3, 2, 1]),
    ]

    @Test(arguments: transposeCases)
    func transposeMovesEveryElement(_ dims: [Int], _ perm: [Int]) throws {
        let plan = try TransposePlan(dims: dims, permutation: perm)
        #expect(plan.outputDims == perm.map { dims[$0] })
        let x = (0..<dims.reduce(1, *)).map(Float.init)
        let inStrides = Self.strides(dims)
        let expected: [Float] = (0..<x.count).map { e in
            let at = Self.index(e, plan.outputDims)
            return Float(zip(perm, at).reduce(0) { $0 + inStrides[$1.0] * $1.1 })
        }
        for context in contexts {
            var y = [Float](repeating: .nan, count: x.count)
            plan.run(x, &y, context: context)
            #expect(y == expected, "\(dims) perm \(perm) \(describe(context))")
        }
    }

    @Test func transposeRejectsABadPermutation() {
        #expect(throws: KernelError.self) { try TransposePlan(dims: [2, 3], permutation: [0, 0]) }
        #expect(throws: KernelError.self) { try TransposePlan(dims: [2, 3], permutation: [1, 0, 2]) }
    }

    // MARK: - Broadcasting arithmetic

    static let broadcastCases: [([Int], [Int])] = [
        ([1, 11, 7], [7]), ([7], [1, 11, 7]), ([2, 3, 5, 9], []), ([2, 1, 5], [1, 3, 1]), ([3, 9], [3, 9]),
        ([1, 2, 1, 4, 1, 3], [2, 1, 5, 1, 2, 3]), ([4, 1], [1, 13]),
    ]

    @Test(arguments: broadcastCases)
    func broadcastArithmeticMatchesNumPy(_ ad: [Int], _ bd: [Int]) throws {
        let shape = try BroadcastShape(a: ad, b: bd)
        let a = randomValues(ad.reduce(1, *), seed: 21).map { $0 + 1.5 }, b = randomValues(bd.reduce(1, *), seed: 22).map { $0 * 2 + 0.25 }
        let count = shape.outputDims.reduce(1, *)
        let ops: [(ArithmeticOperation, (Float, Float) -> Float)] = [(.add, +), (.sub, -), (.mul, *), (.div, /), (.pow, { powf($0, $1) })]
        for (op, f) in ops {
            let expected: [Float] = (0..<count).map { e in
                let at = Self.index(e, shape.outputDims)
                return f(Self.element(a, ad, at: at), Self.element(b, bd, at: at))
            }
            for context in contexts {
                var y = [Float](repeating: .nan, count: count)
                broadcastBinary(op, shape, a: a, b: b, output: &y, context: context)
                expectClose(y, expected, rtol: 1e-6, atol: 0, "\(op) \(ad) \(bd) \(describe(context))")
            }
        }
    }

    @Test func broadcastSquaresAndAppliesTheActivation() throws {
        let shape = try BroadcastShape(a: [3, 11], b: [1])
        let a = randomValues(33, seed: 31)
        var y = [Float](repeating: .nan, count: 33)
        broadcastBinary(.pow, shape, a: a, b: [2], output: &y)
        #expect(y == a.map { $0 * $0 })
        broadcastBinary(.sub, shape, a: a, b: [0.25], output: &y, activation: .relu)
        #expect(y == a.map { max($0 - 0.25, 0) })
        #expect(throws: KernelError.self) { try BroadcastShape(a: [3, 4], b: [3]) }
    }

    // MARK: - Pointwise

    @Test func erfIsAccurateEverywhere() {
        let x = (0..<4001).map { Float($0 - 2000) / 400 } + [0, -0, 1e-6, -1e-6, 30, -30]
        var y = [Float](repeating: .nan, count: x.count)
        pointwise(.erf, x, &y, count: x.count)
        var worst = 0.0
        for (v, r) in zip(x, y) { worst = max(worst, abs(Double(r) - erf(Double(v)))) }
        #expect(worst < 3e-7, "max |erf error| \(worst)")
        pointwise(.erf, x, &y, count: x.count, inputScale: 0.707_106_78)
        worst = 0
        for (v, r) in zip(x, y) { worst = max(worst, abs(Double(r) - erf(Double(v * 0.707_106_78)))) }
        #expect(worst < 3e-7, "max |erf(x/√2) error| \(worst)")
        var nan: [Float] = [.nan]
        pointwise(.erf, nan, &nan, count: 1)
        #expect(nan[0].isNaN)
    }

    @Test func geluSqrtAndStagesMatchTheirFormulas() {
        let x = randomValues(1037, seed: 41).map { $0 * 5 }
        let other = randomValues(1037, seed: 42)
        var y = [Float](repeating: .nan, count: x.count)
        pointwise(.gelu, x, &y, count: x.count)
        expectClose(y, x.map { Float(0.5 * Double($0) * (1 + erf(Double($0) / 2.0.squareRoot()))) }, rtol: 1e-5, atol: 1e-6, "gelu")
        pointwise(.geluTanh, x, &y, count: x.count)
        expectClose(y, x.map { v in
            let d = Double(v)
            return Float(0.5 * d * (1 + tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d))))
        }, rtol: 1e-5, atol: 1e-6, "gelu tanh")
        let positive = x.map(abs)
        pointwise(.sqrt, positive, &y, count: x.count)
        #expect(y == positive.map { $0.squareRoot() })
        // Exported GELU: ((erf(t) + 1) · other) · 0.5, then 2 − v.
        other.withUnsafeBufferPointer { op in
            let stages = [PointwiseStage(.add, scalar: 1), PointwiseStage(.mul, tensor: op.baseAddress!, operandFirst: true),
                          PointwiseStage(.mul, scalar: 0.5), PointwiseStage(.sub, scalar: 2, operandFirst: true)]
            for context in contexts {
                pointwise(.erf, x, &y, count: x.count, stages: stages, context: context)
                let expected = zip(x, other).map { v, o in Float(2 - (erf(Double(v)) + 1) * Double(o) * 0.5) }
                expectClose(y, expected, rtol: 1e-5, atol: 1e-6, "stages \(describe(context))")
            }
        }
    }
}
