/// The geometry of an ONNX / NumPy `matmul`: A[..., M, K] · B[..., K, N] = C[..., M, N], the
/// leading (batch) axes broadcast against each other. A 1-D A is a row [1, K] and a 1-D B a
/// column [K, 1]; those unit axes are dropped from `outputDims`, as NumPy does.
package struct MatMulShape: Sendable, Equatable {
    package let m: Int, n: Int, k: Int
    package let outputDims: [Int]
    /// For output matrix `i` (row-major over the batch axes): which A and B matrix it reads.
    package let aIndex: [Int], bIndex: [Int]

    package init(a aDims: [Int], b bDims: [Int]) throws(KernelError) {
        try require(!aDims.isEmpty && !bDims.isEmpty, "rank", "\(aDims.count), \(bDims.count)", "must be ≥ 1 for both operands")
        let a = aDims.count == 1 ? [1] + aDims : aDims
        let b = bDims.count == 1 ? bDims + [1] : bDims
        m = a[a.count - 2]
        k = a[a.count - 1]
        n = b[b.count - 1]
        try require(b[b.count - 2] == k, "K", "\(k) vs \(b[b.count - 2])", "must agree between A and B")
        let aBatch = Array(a.dropLast(2)), bBatch = Array(b.dropLast(2))
        let rank = max(aBatch.count, bBatch.count)
        let pa = [Int](repeating: 1, count: rank - aBatch.count) + aBatch
        let pb = [Int](repeating: 1, count: rank - bBatch.count) + bBatch
        var batch: [Int] = []
        for (x, y) in zip(pa, pb) {
            try require(x == y || x == 1 || y == 1, "batch axes", "\(aBatch) vs \(bBatch)", "must broadcast")
            batch.append(x == 1 ? y : x)
        }
        var dims = batch
        if aDims.count > 1 { dims.append(m) }
        if bDims.count > 1 { dims.append(n) }
        outputDims = dims
        // Odometer over the output batch axes; a broadcast axis does not advance its operand.
        let count = batch.reduce(1, *)
        var ai = [Int](), bi = [Int]()
        ai.reserveCapacity(count)
        bi.reserveCapacity(count)
        var index = [Int](repeating: 0, count: rank)
        for _ in 0..<count {
            var oa = 0, ob = 0
            for d in 0..<rank {
                oa = oa * pa[d] + (pa[d] == 1 ? 0 : index[d])
                ob = ob * pb[d] + (pb[d] == 1 ? 0 : index[d])
            }
            ai.append(oa)
            bi.append(ob)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < batch[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        aIndex = ai
        bIndex = bi
    }

    /// Number of output matrices.
    package var batches: Int { aIndex.count }

    /// Every product reads the same B and consecutive A matrices: the batch folds into M.
    package var foldsIntoRows: Bool {
        bIndex.allSatisfy { $0 == 0 } && aIndex.enumerated().allSatisfy { $0.offset == $0.element }
    }
}

/// C = activation(alpha · A · B (+ bias[n] per column) (+ residual, shaped like C)) for every batch of
/// `shape`, on `sgemm`. B is row-major K×N per batch (or `packedB`, shared by all batches).
/// With many small products the batches run in parallel, each on one thread; otherwise the
/// products run one after the other, each split over the pool.
package func matmul(_ shape: MatMulShape, alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>?, packedB: PackedMatrix? = nil,
                   c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil,
                   activation: Activation = .none, context: KernelContext = .shared) throws(KernelError) {
    let (m, n, k) = (shape.m, shape.n, shape.k)
    if let packedB {
        try require(packedB.role == .b && packedB.depth == k && packedB.outer == n, "packedB", "\(packedB.depth)×\(packedB.outer)", "must be K×N = \(k)×\(n)")
        try require(shape.bIndex.allSatisfy { $0 == 0 }, "packedB", "batched B", "must be one matrix shared by all batches")
    } else {
        try require(b != nil, "b", "nil", "is required without packedB")
    }
    if m == 0 || n == 0 || shape.batches == 0 { return }
    func epilogue(_ row: Int) -> Epilogue {
        Epilogue(bias: bias.map { .perColumn($0) } ?? .none, activation: activation, residual: residual.map { $0 + row * n }, residualLeadingDimension: n)
    }
    func product(rows: Int, aIndex: Int, bIndex: Int, out: Int, context: KernelContext) {
        let cp = c + out * m * n, ap = a + aIndex * m * k
        // Shapes were validated above; sgemm's own checks cannot fail here.
        if let packedB {
            try? sgemm(m: rows, alpha: alpha, a: ap, lda: max(k, 1), packedB: packedB, c: cp, ldc: n, epilogue: epilogue(out * m), context: context)
        } else if let b {
            try? sgemm(m: rows, n: n, k: k, alpha: alpha, a: ap, lda: max(k, 1), b: b + bIndex * k * n, ldb: n,
                       c: cp, ldc: n, epilogue: epilogue(out * m), context: context)
        }
    }
    if shape.foldsIntoRows {
        product(rows: m * shape.batches, aIndex: 0, bIndex: 0, out: 0, context: context)
        return
    }
    let threads = context.pool.threadCount
    if shape.batches >= threads && (shape.batches >= 4 * threads || m * n * k <= 1 << 18) {
        context.pool.parallelFor(shape.batches) { range in
            // Nested calls into the busy pool run inline on this thread.
            for i in range { product(rows: m, aIndex: shape.aIndex[i], bIndex: shape.bIndex[i], out: i, context: context) }
        }
    } else {
        for i in 0..<shape.batches { product(rows: m, aIndex: shape.aIndex[i], bIndex: shape.bIndex[i], out: i, context: context) }
    }
}

/// Per batch, the transposed product Cᵀ = activation(Wᵀ · Aᵀ (+ bias[n] per row)): A is
/// M×K row-major, W (packed as `PackedMatrix(a: w, rows: N, columns: K, leadingDimension: N,
/// transposed: true)`) is K×N, C is written N×M. A linear layer whose output is transposed
/// next ([1, N, C] → [1, C, N], to NCHW) lands in the transposed layout directly.
package func matmulTransposed(batches: Int, m: Int, a: UnsafePointer<Float>, packedWeights: PackedMatrix,
                             c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>? = nil, activation: Activation = .none,
                             context: KernelContext = .shared) throws(KernelError) {
    try require(packedWeights.role == .a, "packedWeights", "a B-packed matrix", "must be packed with PackedMatrix(a:)")
    try require(batches >= 0 && m >= 0, "batches, M", "\(batches), \(m)", "must be ≥ 0")
    let (n, k) = (packedWeights.outer, packedWeights.depth)
    if m == 0 { return }
    let epilogue = Epilogue(bias: bias.map { .perRow($0) } ?? .none, activation: activation)
    for batch in 0..<batches {
        try sgemm(packedA: packedWeights, n: m, b: a + batch * m * k, ldb: k, transposeB: true,
                  c: c + batch * n * m, ldc: m, epilogue: epilogue, context: context)
    }
}
