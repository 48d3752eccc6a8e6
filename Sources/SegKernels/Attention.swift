/// Scaled dot-product attention, O = softmax(scale · Q·Kᵀ) · V, one block of query rows at
/// a time: the block's scores (rows × N) stay in cache between the two products and the
/// softmax instead of making three passes over a M×N matrix in memory.
///
/// Per batch (both products' NumPy batching from `scores` and `context`): Q is M×Dk, `keys`
/// is Kᵀ stored Dk×N, V is N×Dv, O is M×Dv, all row-major. `scores` must not broadcast the
/// P operand of the second product (`context.aIndex` is the identity). Kᵀ and V are packed
/// once per batch; row blocks are split over the pool and each block's products run on the
/// micro-kernel directly (no packing pass, no nested GEMM driver).
package func attention(scores: MatMulShape, context second: MatMulShape, scale: Float,
                      q: UnsafePointer<Float>, keys: UnsafePointer<Float>, v: UnsafePointer<Float>,
                      output: UnsafeMutablePointer<Float>, context: KernelContext = .shared) throws(KernelError) {
    let (m, dk, n, dv) = (scores.m, scores.k, scores.n, second.n)
    try require(second.m == m && second.k == n && second.batches == scores.batches
                && second.aIndex.enumerated().allSatisfy { $0.offset == $0.element },
                "context", "\(second.m)×\(second.k)", "must multiply the scores (\(m)×\(n)) batch by batch")
    if m == 0 || dv == 0 { return }
    try require(dk >= 1 && n >= 1, "depth", "\(dk), \(n)", "must be ≥ 1")
    let rowsPerBlock = max(Tile.mr, min(120, 16_384 / n / Tile.mr * Tile.mr))  // a multiple of Tile.mr
    let blocks = (m + rowsPerBlock - 1) / rowsPerBlock
    let kernel = microKernel(for: context.isa)
    for batch in 0..<scores.batches {
        let packedKeys = try PackedMatrix(b: keys + scores.bIndex[batch] * dk * n, rows: dk, columns: n, leadingDimension: n)
        let packedValues = try PackedMatrix(b: v + second.bIndex[batch] * n * dv, rows: n, columns: dv, leadingDimension: dv)
        let qBase = q + scores.aIndex[batch] * m * dk, oBase = output + batch * m * dv
        context.pool.parallelFor(blocks) { range in
            // The block's scores row-major; Q and the probabilities as packed A panels (the
            // layout the micro-kernel reads); one edge tile.
            let floats = rowsPerBlock * (2 * n + dk) + Tile.mr * Tile.nr
            withUnsafeTemporaryAllocation(of: Float.self, capacity: floats) { buffer in
                guard let s = buffer.baseAddress else { return }
                let probabilities = s + rowsPerBlock * n, queries = probabilities + rowsPerBlock * n
                let tile = queries + rowsPerBlock * dk
                for block in range {
                    let r0 = block * rowsPerBlock, rows = min(m, r0 + rowsPerBlock) - r0
                    let usedRows = (rows + Tile.mr - 1) / Tile.mr * Tile.mr
                    for r in 0..<usedRows {
                        packRow(r < rows ? qBase + (r0 + r) * dk : nil, r, depth: dk, into: queries, paddedRows: rowsPerBlock)
                    }
                    panelProduct(kernel, queries, rowsPerBlock, depth: dk, packedKeys, rows: rows, columns: n, alpha: scale, s, ldc: n, tile)
                    for r in 0..<usedRows {
                        let row = s + r * n
                        if r < rows { softmaxRow(row, row, n) }
                        packRow(r < rows ? UnsafePointer(row) : nil, r, depth: n, into: probabilities, paddedRows: rowsPerBlock)
                    }
                    panelProduct(kernel, probabilities, rowsPerBlock, depth: n, packedValues, rows: rows, columns: dv, alpha: 1,
                                 oBase + r0 * dv, ldc: dv, tile)
                }
            }
        }
    }
}

/// Row `r` of an A operand (`depth` floats, or zeros for padding rows) into the panel layout
/// of `PackedMatrix`: depth blocks of `Tile.kc` at `k0 · paddedRows`, 6-row panels inside.
@inline(__always)
private func packRow(_ row: UnsafePointer<Float>?, _ r: Int, depth: Int, into panels: UnsafeMutablePointer<Float>, paddedRows: Int) {
    var k0 = 0
    while k0 < depth {
        let kc = min(Tile.kc, depth - k0)
        let dst = panels + k0 * paddedRows + (r / Tile.mr) * Tile.mr * kc + r % Tile.mr
        if let row {
            for d in 0..<kc { dst[d * Tile.mr] = row[k0 + d] }
        } else {
            for d in 0..<kc { dst[d * Tile.mr] = 0 }
        }
        k0 += kc
    }
}

/// C[rows × columns] = alpha · A · B on this thread: A in panels as `packRow` lays them out,
/// B pre-packed; edge tiles go through `tile` (6×16).
@inline(__always)
private func panelProduct(_ kernel: MicroKernel, _ a: UnsafeMutablePointer<Float>, _ paddedRows: Int, depth: Int, _ b: PackedMatrix,
                          rows: Int, columns: Int, alpha: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int,
                          _ tile: UnsafeMutablePointer<Float>) {
    var k0 = 0
    while k0 < depth {
        let kc = min(Tile.kc, depth - k0), beta: Float = k0 == 0 ? 0 : 1
        var j0 = 0
        while j0 < columns {
            let bp = b.panels(k0: k0, outerStart: j0, kc: kc), nr = min(Tile.nr, columns - j0)
            var i0 = 0
            while i0 < rows {
                let ap = UnsafePointer(a + k0 * paddedRows + i0 * kc), mr = min(Tile.mr, rows - i0)
                let ct = c + i0 * ldc + j0
                if mr == Tile.mr && nr == Tile.nr {
                    kernel(kc, ap, bp, ct, ldc, alpha, beta)
                } else {
                    kernel(kc, ap, bp, tile, Tile.nr, alpha, 0)
                    for i in 0..<mr {
                        for j in 0..<nr { ct[i * ldc + j] = tile[i * Tile.nr + j] + (k0 == 0 ? 0 : ct[i * ldc + j]) }
                    }
                }
                i0 += Tile.mr
            }
            j0 += Tile.nr
        }
        k0 += kc
    }
}
