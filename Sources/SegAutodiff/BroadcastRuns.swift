/// Multidirectional (NumPy) broadcasting of two operands, walked as runs: the dims are
/// right-aligned, then adjacent dims merged wherever every operand stays contiguous (or stays
/// broadcast) across them, so [N,C,H,W] · [N,C,1,1] becomes N·C runs of H·W with the second
/// operand's stride 0 — the squeeze-excite product runs as long vector loops.
struct BroadcastRuns: Sendable {
    let outputDims: [Int]
    let aDims: [Int], bDims: [Int]
    /// Collapsed extents and per-operand strides (0 where broadcast).
    private let extents: [Int]
    private let aStrides: [Int], bStrides: [Int]

    init?(_ a: [Int], _ b: [Int]) {
        let rank = max(a.count, b.count)
        let pa = Array(repeating: 1, count: rank - a.count) + a
        let pb = Array(repeating: 1, count: rank - b.count) + b
        var out: [Int] = []
        for (x, y) in zip(pa, pb) {
            guard x == y || x == 1 || y == 1 else { return nil }
            out.append(x == 1 ? y : x)
        }
        func strides(_ dims: [Int]) -> [Int] {
            var s = [Int](repeating: 0, count: rank), running = 1
            for i in stride(from: rank - 1, through: 0, by: -1) {
                s[i] = dims[i] == 1 && out[i] != 1 ? 0 : running
                running *= dims[i]
            }
            return s
        }
        var e: [Int] = [], sa: [Int] = [], sb: [Int] = []
        let fa = strides(pa), fb = strides(pb)
        for i in 0..<rank where out[i] != 1 {
            if let last = e.indices.last,
               sa[last] == fa[i] * out[i], sb[last] == fb[i] * out[i] {
                // The outer dim steps exactly over the inner one in both operands: merge.
                e[last] *= out[i]
                sa[last] = fa[i]
                sb[last] = fb[i]
            } else {
                e.append(out[i]); sa.append(fa[i]); sb.append(fb[i])
            }
        }
        if e.isEmpty { e = [1]; sa = [0]; sb = [0] }
        outputDims = out
        aDims = a
        bDims = b
        extents = e
        aStrides = sa
        bStrides = sb
    }

    var count: Int { outputDims.reduce(1, *) }

    /// Calls `body(outputOffset, aOffset, bOffset, length, aStride, bStride)` for each run of
    /// the innermost collapsed dim, in output order.
    func forEachRun(_ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let rank = extents.count
        let length = extents[rank - 1], sa = aStrides[rank - 1], sb = bStrides[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var offA = 0, offB = 0, offOut = 0
        let runs = count / max(1, length)
        for _ in 0..<runs {
            body(offOut, offA, offB, length, sa, sb)
            offOut += length
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                offA += aStrides[d]; offB += bStrides[d]
                if index[d] < extents[d] { break }
                offA -= aStrides[d] * extents[d]; offB -= bStrides[d] * extents[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}
