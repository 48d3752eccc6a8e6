/// Scaled dot-product attention, O = softmax(scale · Q·Kᵀ) · V, one block of query rows at
/// a time: the block's scores (rows × N) stay in cache between the two products and the
/// softmax instead of making three passes over a M×N matrix in memory.
///
/// Per batch (both products' NumPy batching from `scores` and `context`): Q is M×Dk, `keys`
/// is Kᵀ stored Dk×N, V is N×Dv, O is M×Dv, all row-major. `scores` must not broadcast the
/// P operand of the second product (`context.aIndex` is the identity). Kᵀ and V are packed
/// once per batch; row blocks are split over the pool.
public func attention(scores: MatMulShape, context second: MatMulShape, scale: Float,
                      q: UnsafePointer<Float>, keys: UnsafePointer<Float>, v: UnsafePointer<Float>,
                      output: UnsafeMutablePointer<Float>, context: KernelContext = .shared) throws(KernelError) {
    let (m, dk, n, dv) = (scores.m, scores.k, scores.n, second.n)
    try require(second.m == m && second.k == n && second.batches == scores.batches
                && second.aIndex.enumerated().allSatisfy { $0.offset == $0.element },
                "context", "\(second.m)×\(second.k)", "must multiply the scores (\(m)×\(n)) batch by batch")
    if m == 0 || dv == 0 { return }
    try require(dk >= 1 && n >= 1, "depth", "\(dk), \(n)", "must be ≥ 1")
    let rowsPerBlock = max(Tile.mr, min(120, 16_384 / n / Tile.mr * Tile.mr))
    let blocks = (m + rowsPerBlock - 1) / rowsPerBlock
    for batch in 0..<scores.batches {
        let packedKeys = try PackedMatrix(b: keys + scores.bIndex[batch] * dk * n, rows: dk, columns: n, leadingDimension: n)
        let packedValues = try PackedMatrix(b: v + second.bIndex[batch] * n * dv, rows: n, columns: dv, leadingDimension: dv)
        let qBase = q + scores.aIndex[batch] * m * dk, oBase = output + batch * m * dv
        context.pool.parallelFor(blocks) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rowsPerBlock * n) { buffer in
                guard let s = buffer.baseAddress else { return }
                for block in range {
                    let r0 = block * rowsPerBlock, rows = min(m, r0 + rowsPerBlock) - r0
                    // Inside the pool's job these calls run inline on this thread; shapes were
                    // checked above, so they cannot throw.
                    try? sgemm(m: rows, alpha: scale, a: qBase + r0 * dk, lda: dk, packedB: packedKeys, c: s, ldc: n, context: context)
                    for r in 0..<rows { softmaxRow(s + r * n, s + r * n, n) }
                    try? sgemm(m: rows, a: s, lda: n, packedB: packedValues, c: oBase + r0 * dv, ldc: dv, context: context)
                }
            }
        }
    }
}
