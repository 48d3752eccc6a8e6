/// GEMM register-tile sizes shared by packing and the micro-kernels.
enum Tile {
    /// Rows of C per micro-kernel call (A panel width).
    static let mr = 6
    /// Columns of C per micro-kernel call (B panel width: two AVX2 registers).
    static let nr = 16
    /// Depth of one packed block: a 6×256 A panel (6 KiB) plus a 256×16 B panel (16 KiB)
    /// stay in the 32 KiB L1 while a micro-kernel runs.
    static let kc = 256
}

/// A constant GEMM operand (usually weights) packed once at model load into the panel
/// layout the micro-kernels read, so calls skip the packing pass for it.
///
/// Layout: the depth K is cut into blocks of `Tile.kc`. Block `[k0, k0+kc)` starts at
/// `k0 · paddedOuter` and holds `paddedOuter / width` panels of `kc × width` floats, panel `p`
/// at `p · width · kc`, element (outer `p·width + r`, depth `k0 + d`) at `d · width + r`.
/// `width` is 6 (`Tile.mr`) for an A operand (outer = M rows) and 16 (`Tile.nr`) for a B
/// operand (outer = N columns); padding lanes hold 0.
package final class PackedMatrix: @unchecked Sendable {
    package enum Role: Sendable { case a, b }

    package let role: Role
    /// M for an A operand, N for a B operand.
    package let outer: Int
    /// K, the shared (summed) dimension.
    package let depth: Int
    let width: Int
    let paddedOuter: Int
    let storage: UnsafeMutableRawPointer
    var data: UnsafeMutablePointer<Float> { storage.assumingMemoryBound(to: Float.self) }

    /// Packs A[M×K] (row-major, leading dimension `lda`) as the left operand; with
    /// `transposed` the memory holds Aᵀ, i.e. K×M, and the packed operand is still A.
    package convenience init(a: UnsafePointer<Float>, rows m: Int, columns k: Int,
                            leadingDimension lda: Int, transposed: Bool = false) throws(KernelError) {
        try require(lda >= (transposed ? m : k), "leadingDimension", lda, "must be ≥ the row length")
        try self.init(role: .a, outer: m, depth: k,
                      source: StridedOperand(base: a, outerStride: transposed ? 1 : lda,
                                             depthStride: transposed ? lda : 1))
    }

    /// Packs B[K×N] (row-major, leading dimension `ldb`) as the right operand; with
    /// `transposed` the memory holds Bᵀ, i.e. N×K (ONNX Gemm transB = 1).
    package convenience init(b: UnsafePointer<Float>, rows k: Int, columns n: Int,
                            leadingDimension ldb: Int, transposed: Bool = false) throws(KernelError) {
        try require(ldb >= (transposed ? k : n), "leadingDimension", ldb, "must be ≥ the row length")
        try self.init(role: .b, outer: n, depth: k,
                      source: StridedOperand(base: b, outerStride: transposed ? ldb : 1,
                                             depthStride: transposed ? 1 : ldb))
    }

    init(role: Role, outer: Int, depth: Int, source: StridedOperand) throws(KernelError) {
        try require(outer >= 1, role == .a ? "rows" : "columns", outer, "must be ≥ 1")
        try require(depth >= 1, "depth (K)", depth, "must be ≥ 1")
        self.role = role
        self.outer = outer
        self.depth = depth
        width = role == .a ? Tile.mr : Tile.nr
        paddedOuter = (outer + width - 1) / width * width
        let (count, overflow) = paddedOuter.multipliedReportingOverflow(by: depth)
        try require(!overflow && count < Int32.max, "size", "\(outer)×\(depth)", "is too large to pack")
        storage = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        var k0 = 0
        while k0 < depth {
            let kc = min(Tile.kc, depth - k0)
            source.pack(outer: 0..<outer, depth: k0..<(k0 + kc), width: width, into: data + k0 * paddedOuter)
            k0 += kc
        }
    }

    deinit { storage.deallocate() }

    /// First panel of depth block `k0` whose panels cover outer index `outerStart`
    /// (a multiple of `width`).
    @inline(__always)
    func panels(k0: Int, outerStart: Int, kc: Int) -> UnsafePointer<Float> {
        UnsafePointer(data + k0 * paddedOuter + outerStart * kc)
    }
}

/// A matrix operand addressed as element(outer, depth) = base[outer·outerStride + depth·depthStride].
struct StridedOperand: @unchecked Sendable {
    let base: UnsafePointer<Float>
    let outerStride: Int
    let depthStride: Int

    /// Writes panels covering `outer` (zero-padded to a multiple of `width`) for `depth`.
    func pack(outer: Range<Int>, depth: Range<Int>, width: Int, into dst: UnsafeMutablePointer<Float>) {
        let kc = depth.count
        var out = dst
        var p = outer.lowerBound
        let fullPanels = outer.count / 16
        if outerStride == 1 && width == 16 && fullPanels > 1 {
            // B rows contiguous along N (a conv's activations, one plane per depth row):
            // depth outer, so each plane is read as one sequential run the prefetcher follows,
            // where panel-outer order touched 64 bytes in each of `kc` planes at a time (a
            // quarter of a 512→128 pointwise conv's time on a 90×120 map went to packing).
            for d in 0..<kc {
                let src = base + p + (depth.lowerBound + d) * depthStride
                var row = out + d * 16
                for q in 0..<fullPanels {
                    store8(load8(src + 16 * q), row)
                    store8(load8(src + 16 * q + 8), row + 8)
                    row += 16 * kc
                }
            }
            out += fullPanels * 16 * kc
            p += fullPanels * 16
        }
        while p < outer.upperBound {
            let valid = min(width, outer.upperBound - p)
            if outerStride == 1 && valid == 16 {
                // B rows are contiguous along N: copy 16 floats per depth step.
                var src = base + p + depth.lowerBound * depthStride
                for d in 0..<kc {
                    store8(load8(src), out + d * 16)
                    store8(load8(src + 8), out + d * 16 + 8)
                    src += depthStride
                }
            } else {
                for d in 0..<kc {
                    let src = base + (depth.lowerBound + d) * depthStride + p * outerStride
                    let row = out + d * width
                    for r in 0..<valid { row[r] = src[r * outerStride] }
                    for r in valid..<width { row[r] = 0 }
                }
            }
            out += width * kc
            p += width
        }
    }
}
