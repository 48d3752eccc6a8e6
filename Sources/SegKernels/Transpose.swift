/// ONNX Transpose: output axis `i` is input axis `permutation[i]`, row-major both sides.
///
/// The plan drops unit axes and merges output axes that are adjacent and in order in the
/// input, so [1, N, H, D] with perm [0, 2, 1, 3] becomes a [H, N, D] → [N, H, D] shuffle of
/// contiguous D-runs. Then either the innermost axis stays innermost (copy contiguous runs)
/// or it does not (8×8 blocked transposes between the input's innermost axis and the
/// output's). Work is split over the pool.
package struct TransposePlan: Sendable, Equatable {
    package let outputDims: [Int]
    /// Merged output axes: extent, and stride of each in the input and in the output.
    let extents: [Int]
    let inputStrides: [Int]
    let outputStrides: [Int]

    package init(dims: [Int], permutation: [Int]) throws(KernelError) {
        try require(permutation.count == dims.count && Set(permutation) == Set(0..<dims.count),
                    "permutation", permutation, "must be a permutation of 0..<\(dims.count)")
        try require(dims.allSatisfy { $0 >= 0 }, "dims", dims, "must be ≥ 0")
        outputDims = permutation.map { dims[$0] }
        var strides = [Int](repeating: 1, count: dims.count)
        for d in stride(from: dims.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * dims[d + 1] }
        var ext: [Int] = [], inS: [Int] = [], lastAxis = -1
        for axis in permutation where dims[axis] != 1 {
            if lastAxis >= 0, strides[lastAxis] == strides[axis] * dims[axis], let e = ext.last {
                // The next input axis after the previous one (unit axes between): one longer axis.
                ext[ext.count - 1] = e * dims[axis]
                inS[inS.count - 1] = strides[axis]
            } else {
                ext.append(dims[axis])
                inS.append(strides[axis])
            }
            lastAxis = axis
        }
        var outS = [Int](repeating: 1, count: ext.count)
        for d in stride(from: ext.count - 2, through: 0, by: -1) { outS[d] = outS[d + 1] * ext[d + 1] }
        extents = ext
        inputStrides = inS
        outputStrides = outS
    }

    /// Whether the transpose moves no element (a copy).
    package var isCopy: Bool { extents.count <= 1 }

    package func run(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, context: KernelContext = .shared) {
        let total = outputDims.reduce(1, *)
        if total == 0 { return }
        let r = extents.count
        if r <= 1 {
            let chunk = 1 << 16
            context.pool.parallelFor((total + chunk - 1) / chunk) { range in
                let start = range.lowerBound * chunk
                (y + start).update(from: x + start, count: min(total, range.upperBound * chunk) - start)
            }
            return
        }
        let inner = extents[r - 1]
        if inputStrides[r - 1] == 1 {
            // Contiguous runs of `inner` floats.
            let outer = Array(extents.dropLast()), outerIn = Array(inputStrides.dropLast())
            let rows = total / inner
            let perChunk = max(1, 4096 / inner)
            context.pool.parallelFor((rows + perChunk - 1) / perChunk) { chunks in
                for row in (chunks.lowerBound * perChunk)..<min(rows, chunks.upperBound * perChunk) {
                    (y + row * inner).update(from: x + offset(row, outer, outerIn), count: inner)
                }
            }
            return
        }
        // q: the output axis that is the input's innermost (stride 1).
        guard let q = inputStrides.firstIndex(of: 1) else { return generic(x, y, total) }
        var others: [Int] = [], othersIn: [Int] = [], othersOut: [Int] = []
        for d in 0..<(r - 1) where d != q {
            others.append(extents[d]); othersIn.append(inputStrides[d]); othersOut.append(outputStrides[d])
        }
        let rowsQ = extents[q], qOut = outputStrides[q], jIn = inputStrides[r - 1]
        // 64×64 tiles: each source row read and each destination row written as 256-byte runs.
        let tile = 64
        let iTiles = (rowsQ + tile - 1) / tile, jTiles = (inner + tile - 1) / tile
        let planes = others.reduce(1, *)
        context.pool.parallelFor(planes * iTiles * jTiles) { units in
            for unit in units {
                let plane = unit / (iTiles * jTiles), ij = unit % (iTiles * jTiles)
                let iStart = (ij / jTiles) * tile, jStart = (ij % jTiles) * tile
                let iEnd = min(rowsQ, iStart + tile), jEnd = min(inner, jStart + tile)
                var inBase = 0, outBase = 0, rest = plane
                for d in stride(from: others.count - 1, through: 0, by: -1) {
                    let v = rest % others[d]
                    rest /= others[d]
                    inBase += v * othersIn[d]
                    outBase += v * othersOut[d]
                }
                let src = x + inBase, dst = y + outBase
                // Full 8×8 blocks, then the ragged right and bottom edges element by element.
                let iFull = iStart + (iEnd - iStart) / 8 * 8, jFull = jStart + (jEnd - jStart) / 8 * 8
                var j0 = jStart
                while j0 < jFull {
                    var i0 = iStart
                    while i0 < iFull {
                        transpose8x8(src + i0 + j0 * jIn, jIn, dst + i0 * qOut + j0, qOut)
                        i0 += 8
                    }
                    j0 += 8
                }
                for i in iStart..<iEnd {
                    let d = dst + i * qOut
                    let from = i < iFull ? jFull : jStart
                    for j in from..<jEnd { d[j] = src[i + j * jIn] }
                }
            }
        }
    }

    /// Input offset of output row `row` over the axes `dims` with input strides `strides`.
    @inline(__always)
    private func offset(_ row: Int, _ dims: [Int], _ strides: [Int]) -> Int {
        var rest = row, o = 0
        for d in stride(from: dims.count - 1, through: 0, by: -1) {
            o += (rest % dims[d]) * strides[d]
            rest /= dims[d]
        }
        return o
    }

    /// Element by element (a merged shape without a stride-1 axis cannot occur; kept total).
    private func generic(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ total: Int) {
        for e in 0..<total { y[e] = x[offset(e, extents, inputStrides)] }
    }
}

/// dst[i·dstStride + j] = src[i + j·srcStride] for an 8×8 block: eight contiguous loads,
/// eight contiguous stores.
@inline(__always)
private func transpose8x8(_ src: UnsafePointer<Float>, _ srcStride: Int, _ dst: UnsafeMutablePointer<Float>, _ dstStride: Int) {
    let r0 = load8(src), r1 = load8(src + srcStride), r2 = load8(src + 2 * srcStride), r3 = load8(src + 3 * srcStride)
    let r4 = load8(src + 4 * srcStride), r5 = load8(src + 5 * srcStride), r6 = load8(src + 6 * srcStride), r7 = load8(src + 7 * srcStride)
    for i in 0..<8 {
        store8(SIMD8(r0[i], r1[i], r2[i], r3[i], r4[i], r5[i], r6[i], r7[i]), dst + i * dstStride)
    }
}
