// Winograd F(2×2, 3×3) input transform on 512-bit vectors: sixteen tiles of one tile row at a
// time, one tile per lane. Like the kernels beside it, it may only run after SegKernels'
// run-time check (`KernelISA.hasVNNI`).
//
// The transform's adds are those of SegKernels' `WinogradConv3x3.inputTile`, in the same
// order, so V is the same bit for bit (tested in WinogradTests against the 8-lane path).
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Lanes `lo..<hi` of a 16-lane mask (empty where hi ≤ lo).
@inline(__always)
private func laneRange(_ lo: Int, _ hi: Int) -> __mmask16 {
    let l = max(0, lo), h = min(16, hi)
    guard h > l else { return 0 }
    return __mmask16(truncatingIfNeeded: (1 << h) - (1 << l))
}

/// V_ξ for `count` (1...16) consecutive 4×4 input tiles of one plane: tile k covers rows
/// `iy0..<iy0 + 4` and columns `ix0 + 2k ..< ix0 + 2k + 4`; rows and columns outside
/// `height` × `width` read as zero (the conv's padding), by masked loads that never touch
/// them. Tile k's sixteen values go to `out + ξ·xiStride + k`.
///
/// Per row: four loads (columns ix0 + 0…15, 16…31 and the same from ix0 + 2) and four
/// two-source permutes give the tiles' columns 0–3 as one vector each; the transform is 32
/// adds on whole vectors. The 8-lane path deinterleaved through memory and stored its results
/// by way of a scratch tile.
@inline(never)
package func winogradInputTilesAVX512(_ plane: UnsafePointer<Float>, _ height: Int, _ width: Int,
                                      _ iy0: Int, _ ix0: Int, _ count: Int,
                                      _ out: UnsafeMutablePointer<Float>, _ xiStride: Int) {
    let even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0)
    let odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1)
    // Column j of the image is valid for 0 ≤ j < width; a load at column c covers c…c + 15.
    let m0 = laneRange(-ix0, width - ix0), m16 = laneRange(-(ix0 + 16), width - ix0 - 16)
    let m2 = laneRange(-(ix0 + 2), width - ix0 - 2), m18 = laneRange(-(ix0 + 18), width - ix0 - 18)
    let zero = _mm512_setzero_ps()
    /// Row r's four tile columns.
    @inline(__always) func rowColumns(_ r: Int) -> (__m512, __m512, __m512, __m512) {
        let iy = iy0 + r
        guard iy >= 0 && iy < height else { return (zero, zero, zero, zero) }
        let p = plane + iy * width + ix0
        let a = _mm512_maskz_loadu_ps(m0, p), b = _mm512_maskz_loadu_ps(m16, p + 16)
        let c = _mm512_maskz_loadu_ps(m2, p + 2), e = _mm512_maskz_loadu_ps(m18, p + 18)
        return (_mm512_permutex2var_ps(a, even, b), _mm512_permutex2var_ps(a, odd, b),
                _mm512_permutex2var_ps(c, even, e), _mm512_permutex2var_ps(c, odd, e))
    }
    let r0 = rowColumns(0), r1 = rowColumns(1), r2 = rowColumns(2), r3 = rowColumns(3)
    let store = laneRange(0, count)
    /// Bᵀ over the rows for one column, then that column's four results.
    @inline(__always) func rows(_ d0: __m512, _ d1: __m512, _ d2: __m512, _ d3: __m512) -> (__m512, __m512, __m512, __m512) {
        (_mm512_sub_ps(d0, d2), _mm512_add_ps(d1, d2), _mm512_sub_ps(d2, d1), _mm512_sub_ps(d1, d3))
    }
    let c0 = rows(r0.0, r1.0, r2.0, r3.0), c1 = rows(r0.1, r1.1, r2.1, r3.1)
    let c2 = rows(r0.2, r1.2, r2.2, r3.2), c3 = rows(r0.3, r1.3, r2.3, r3.3)
    /// Row i of Bᵀd (its columns t0…t3) times B, to ξ = 4i…4i + 3.
    @inline(__always) func columns(_ i: Int, _ t0: __m512, _ t1: __m512, _ t2: __m512, _ t3: __m512) {
        let base = out + 4 * i * xiStride
        _mm512_mask_storeu_ps(base, store, _mm512_sub_ps(t0, t2))
        _mm512_mask_storeu_ps(base + xiStride, store, _mm512_add_ps(t1, t2))
        _mm512_mask_storeu_ps(base + 2 * xiStride, store, _mm512_sub_ps(t2, t1))
        _mm512_mask_storeu_ps(base + 3 * xiStride, store, _mm512_sub_ps(t1, t3))
    }
    columns(0, c0.0, c1.0, c2.0, c3.0)
    columns(1, c0.1, c1.1, c2.1, c3.1)
    columns(2, c0.2, c1.2, c2.2, c3.2)
    columns(3, c0.3, c1.3, c2.3, c3.3)
}
#endif

#if arch(x86_64)
/// Y = Aᵀ m A for `count` (1...16) tiles of one output channel, then its epilogue: tile k's
/// sixteen products at `m + ξ·xiStride + k`, its 2×2 outputs at `out + dy·rowStride + 2k + dx`
/// for the `rows` (1 or 2) output rows and the first `columns` outputs of each (the map's right
/// edge may cut the last tile). Each output is (y + bias) (+ its old value when
/// `accumulate`), + `residual` (laid out like `out`) before or after the activation as `e`
/// says — `WinogradConv3x3.transformOutput`'s operations in its order, so the same floats.
@inline(never)
package func winogradOutputTilesAVX512(_ m: UnsafePointer<Float>, _ xiStride: Int, _ count: Int,
                                       _ out: UnsafeMutablePointer<Float>, _ rows: Int, _ rowStride: Int, _ columns: Int,
                                       _ bias: Float, _ accumulate: Bool, _ residual: UnsafePointer<Float>?,
                                       _ e: PointwiseAVX512Epilogue) {
    let lanes = laneRange(0, count)
    @inline(__always) func at(_ xi: Int) -> __m512 { _mm512_maskz_loadu_ps(lanes, m + xi * xiStride) }
    @inline(__always) func sum3(_ a: __m512, _ b: __m512, _ c: __m512) -> __m512 { _mm512_add_ps(_mm512_add_ps(a, b), c) }
    @inline(__always) func diff3(_ a: __m512, _ b: __m512, _ c: __m512) -> __m512 { _mm512_sub_ps(_mm512_sub_ps(a, b), c) }
    // Columns first (m A): per row r, even = s0 + s1 + s2, odd = s1 − s2 − s3.
    let e0 = sum3(at(0), at(1), at(2)), e1 = sum3(at(4), at(5), at(6))
    let e2 = sum3(at(8), at(9), at(10)), e3 = sum3(at(12), at(13), at(14))
    let d0 = diff3(at(1), at(2), at(3)), d1 = diff3(at(5), at(6), at(7))
    let d2 = diff3(at(9), at(10), at(11)), d3 = diff3(at(13), at(14), at(15))
    // Tile k's even and odd outputs side by side: lanes 0–7 of each, then 8–15.
    let low = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0)
    let high = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8)
    let first = laneRange(0, columns), second = laneRange(0, columns - 16)
    let b = _mm512_set1_ps(bias)
    @inline(__always) func put(_ v: __m512, _ p: UnsafeMutablePointer<Float>, _ r: UnsafePointer<Float>?, _ mask: __mmask16) {
        var x = _mm512_add_ps(v, b)
        if accumulate { x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, p)) }
        if let r, e.residualBefore { x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, r)) }
        x = activateAVX512(x, e)
        if let r, !e.residualBefore { x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, r)) }
        _mm512_mask_storeu_ps(p, mask, x)
    }
    for dy in 0..<rows {
        // Then rows (Aᵀ ·): output row 0 from e0 + e1 + e2, row 1 from e1 − e2 − e3.
        let even = dy == 0 ? sum3(e0, e1, e2) : diff3(e1, e2, e3)
        let odd = dy == 0 ? sum3(d0, d1, d2) : diff3(d1, d2, d3)
        let p = out + dy * rowStride, r = residual.map { $0 + dy * rowStride }
        put(_mm512_permutex2var_ps(even, low, odd), p, r, first)
        if columns > 16 { put(_mm512_permutex2var_ps(even, high, odd), p + 16, r.map { $0 + 16 }, second) }
    }
}
#endif
