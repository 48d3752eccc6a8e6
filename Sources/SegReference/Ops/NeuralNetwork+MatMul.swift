import SegGraph
import SegTensor

/// Shapes of one MatMul (numpy.matmul): 1-D operands promoted to matrices and the promoted
/// axis dropped again, batch axes broadcast.
struct MatMulPlan: NNNumericKernel {
    var m: Int, k: Int, n: Int
    /// For every output batch, the offset of its A and B matrices.
    var aOffsets: [Int], bOffsets: [Int]
    var outputDims: [Int]

    init(a: [Int], b: [Int]) throws {
        guard !a.isEmpty, !b.isEmpty else { throw OpError.input(a.isEmpty ? 0 : 1, "MatMul does not take scalars") }
        let a2 = a.count == 1 ? [1] + a : a, b2 = b.count == 1 ? b + [1] : b
        let (m, k, n) = (a2[a2.count - 2], a2[a2.count - 1], b2[b2.count - 1])
        (self.m, self.k, self.n) = (m, k, n)
        guard b2[b2.count - 2] == k else { throw OpError.input(1, "inner dimensions differ: \(a) × \(b)") }
        let aBatch = Array(a2.dropLast(2)), bBatch = Array(b2.dropLast(2))
        let batch = try Broadcast.shape([aBatch, bBatch])
        try NN.checkedCount(batch + [m, n], dtype: .f64)
        aOffsets = Broadcast.indexMap(from: aBatch, to: batch).map { $0 * m * k }
        bOffsets = Broadcast.indexMap(from: bBatch, to: batch).map { $0 * k * n }
        outputDims = batch + (a.count == 1 ? [] : [m]) + (b.count == 1 ? [] : [n])
    }

    /// Symbolic output shape for inference (nil when a rank is unknown).
    static func inferShape(_ a: [Dimension]?, _ b: [Dimension]?) -> [Dimension]? {
        guard let a, let b, !a.isEmpty, !b.isEmpty else { return nil }
        let a2 = a.count == 1 ? [.value(1)] + a : a, b2 = b.count == 1 ? b + [.value(1)] : b
        guard let batch = Broadcast.symbolic([Array(a2.dropLast(2)), Array(b2.dropLast(2))]) else { return nil }
        return batch + (a.count == 1 ? [] : [a2[a2.count - 2]]) + (b.count == 1 ? [] : [b2[b2.count - 1]])
    }

    /// Row-major product per batch, i-k-j order so the inner loop runs over contiguous rows.
    func run<T: NNMulAdd>(_ inputs: [[T]]) throws -> [T] {
        let a = inputs[0], b = inputs[1]
        guard aOffsets.allSatisfy({ $0 + m * k <= a.count }), bOffsets.allSatisfy({ $0 + k * n <= b.count }) else {
            throw OpError.input(0, "element counts do not match the shapes")
        }
        var out = [T](repeating: T.zero, count: aOffsets.count * m * n)
        out.withUnsafeMutableBufferPointer { out in
            for (batch, (ao, bo)) in zip(aOffsets, bOffsets).enumerated() {
                for i in 0..<m {
                    let row = (batch * m + i) * n
                    for p in 0..<k {
                        let av = a[ao + i * k + p], bRow = bo + p * n
                        for j in 0..<n { out[row + j] = T.nnMulAdd(out[row + j], av, b[bRow + j]) }
                    }
                }
            }
        }
        return out
    }
}

extension NeuralNetworkOperators {
    /// MatMul (1, 9, 13): numpy.matmul for f16/f32/f64 and 32/64-bit integers (wrapping).
    static let matMul = OperatorDefinition(
        "MatMul",
        infer: { _, inputs in
            let a = inputs.first??.type, b = inputs.count > 1 ? inputs[1]?.type : nil
            return [TensorType(elementType: a?.elementType, shape: MatMulPlan.inferShape(a?.shape, b?.shape))]
        }
    ) { _, inputs in
        let a = try required(inputs, 0), b = try required(inputs, 1)
        let plan = try MatMulPlan(a: a.dims, b: b.dims)
        return [try NN.numeric(plan, [a, b], dims: plan.outputDims)]
    }

    /// Gemm (7, 9, 11, 13): `alpha · A′ · B′ + beta · C` with A′, B′ optionally transposed and C
    /// (optional from 11) broadcast to [M, N]. ORT's order: C·beta first, then the product.
    static let gemm = OperatorDefinition(
        "Gemm", versions: 7...Int.max, attributes: ["alpha", "beta", "transA", "transB"],
        infer: { ctx, inputs in
            let a = inputs.first??.type, b = inputs.count > 1 ? inputs[1]?.type : nil
            guard let sa = a?.shape, let sb = b?.shape, sa.count == 2, sb.count == 2 else {
                return [TensorType(elementType: a?.elementType, shape: [.unknown, .unknown])]
            }
            let m = try ctx.int("transA", default: 0) != 0 ? sa[1] : sa[0]
            let n = try ctx.int("transB", default: 0) != 0 ? sb[0] : sb[1]
            return [TensorType(elementType: a?.elementType, shape: [m, n])]
        }
    ) { ctx, inputs in
        let a = try required(inputs, 0)
        guard NN.isFloat(a.dtype) else { throw OpError.input(0, "Gemm takes f16, f32 or f64 here, got \(a.dtype)") }
        if a.dtype == .f64 { return [try gemm(Double.self, ctx, inputs)] }
        return [try gemm(Float.self, ctx, inputs)]
    }

    static func gemm<F: NNFloat>(_: F.Type, _ ctx: NodeContext, _ inputs: [Tensor?]) throws -> Tensor {
        let at = try required(inputs, 0), bt = try required(inputs, 1)
        guard at.dims.count == 2, bt.dims.count == 2 else { throw OpError.input(at.dims.count == 2 ? 1 : 0, "Gemm needs matrices, got \(at.shape) and \(bt.shape)") }
        guard bt.dtype == at.dtype else { throw OpError.input(1, "is \(bt.dtype), A is \(at.dtype)") }
        let transA = try ctx.int("transA", default: 0) != 0, transB = try ctx.int("transB", default: 0) != 0
        let alpha = F(try ctx.float("alpha", default: 1)), beta = F(try ctx.float("beta", default: 1))
        let (m, k) = transA ? (at.dims[1], at.dims[0]) : (at.dims[0], at.dims[1])
        let (kb, n) = transB ? (bt.dims[1], bt.dims[0]) : (bt.dims[0], bt.dims[1])
        guard k == kb else { throw OpError.input(1, "inner dimensions differ: A′ is \(m)×\(k), B′ is \(kb)×\(n)") }
        let count = try NN.checkedCount([m, n], dtype: at.dtype)
        let a: [F] = try NN.floats(at, input: 0), b: [F] = try NN.floats(bt, input: 1)
        var y = [F](repeating: 0, count: count)
        if let ct = optional(inputs, 2) {
            guard ct.dims.count <= 2, (try? Broadcast.shape([ct.dims, [m, n]])) == [m, n] else {
                throw OpError.input(2, "C of shape \(ct.shape) does not broadcast to [\(m), \(n)]")
            }
            let c: [F] = try NN.floats(ct, input: 2)
            for (i, src) in Broadcast.indexMap(from: ct.dims, to: [m, n]).enumerated() { y[i] = beta * c[src] }
        }
        for i in 0..<m {
            var row = [F](repeating: 0, count: n)
            for p in 0..<k {
                let av = transA ? a[p * m + i] : a[i * k + p]
                if transB { for j in 0..<n { row[j] += av * b[j * k + p] } } else { for j in 0..<n { row[j] += av * b[p * n + j] } }
            }
            for j in 0..<n { y[i * n + j] += alpha * row[j] }
        }
        return try NN.tensor(y, dims: [m, n], dtype: at.dtype)
    }
}
