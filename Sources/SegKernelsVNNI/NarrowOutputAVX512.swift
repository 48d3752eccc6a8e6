// The FP32 kernel for convs with few output channels and deep inputs (a segmentation head's
// 512→11 3×3 classifier): output channels across the vector lanes, pixels broadcast. Like
// the kernels beside it, it may only run after SegKernels' run-time check (`KernelISA.hasVNNI`).
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Twelve output pixels × 16·`vectors` output channels (`vectors` 1 or 2) of a conv, summed
/// over `depth` depth rows d = (channel, ky, kx) in order: for pixel r, input value at
/// `x + r·pixelStride + offsets[d]`, weights of row d at `wT + d·16·vectors` (channels across,
/// zero past the real ones). Writes the sums to `tile`, pixel r's channels at
/// `tile + r·tileStride`, or adds them to what is there when `accumulate` (a depth-blocked
/// sweep: the weights of one block of depth rows stay in L1 across the pixel tiles).
///
/// Each depth row is one weight load per vector and twelve FMAs whose input operand is a
/// broadcast from memory, so the input is read in place (no im2col panels: the packed GEMM
/// copied 13 M floats per run for PSPNet's 512→11 3×3 head and used each only eleven times).
@inline(never)
package func narrowOutputPixelsAVX512(_ depth: Int, _ offsets: UnsafePointer<Int>, _ x: UnsafePointer<Float>,
                                      _ pixelStride: Int, _ wT: UnsafePointer<Float>, _ vectors: Int,
                                      _ tile: UnsafeMutablePointer<Float>, _ tileStride: Int, _ accumulate: Bool) {
    // Adjacent pixels (every stride-1 conv) get constant displacements in the twelve
    // broadcast loads rather than addresses computed from a stride held in a register.
    if pixelStride == 1 {
        channelLanePixels(depth, offsets, x, 1, wT, vectors, tile, tileStride, accumulate)
    } else {
        channelLanePixels(depth, offsets, x, pixelStride, wT, vectors, tile, tileStride, accumulate)
    }
}

@inline(__always)
private func channelLanePixels(_ depth: Int, _ offsets: UnsafePointer<Int>, _ x: UnsafePointer<Float>,
                               _ pixelStride: Int, _ wT: UnsafePointer<Float>, _ vectors: Int,
                               _ tile: UnsafeMutablePointer<Float>, _ tileStride: Int, _ accumulate: Bool) {
    let zero = _mm512_setzero_ps()
    let s = pixelStride, t = tileStride
    var a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero
    var a6 = zero, a7 = zero, a8 = zero, a9 = zero, a10 = zero, a11 = zero
    if accumulate {
        a0 = _mm512_loadu_ps(tile); a1 = _mm512_loadu_ps(tile + t); a2 = _mm512_loadu_ps(tile + 2 * t)
        a3 = _mm512_loadu_ps(tile + 3 * t); a4 = _mm512_loadu_ps(tile + 4 * t); a5 = _mm512_loadu_ps(tile + 5 * t)
        a6 = _mm512_loadu_ps(tile + 6 * t); a7 = _mm512_loadu_ps(tile + 7 * t); a8 = _mm512_loadu_ps(tile + 8 * t)
        a9 = _mm512_loadu_ps(tile + 9 * t); a10 = _mm512_loadu_ps(tile + 10 * t); a11 = _mm512_loadu_ps(tile + 11 * t)
    }
    if vectors == 1 {
        for d in 0..<depth {
            let w = _mm512_loadu_ps(wT + d * 16)
            let p = x + offsets[d]
            a0 = _mm512_fmadd_ps(_mm512_set1_ps(p[0]), w, a0)
            a1 = _mm512_fmadd_ps(_mm512_set1_ps(p[s]), w, a1)
            a2 = _mm512_fmadd_ps(_mm512_set1_ps(p[2 * s]), w, a2)
            a3 = _mm512_fmadd_ps(_mm512_set1_ps(p[3 * s]), w, a3)
            a4 = _mm512_fmadd_ps(_mm512_set1_ps(p[4 * s]), w, a4)
            a5 = _mm512_fmadd_ps(_mm512_set1_ps(p[5 * s]), w, a5)
            a6 = _mm512_fmadd_ps(_mm512_set1_ps(p[6 * s]), w, a6)
            a7 = _mm512_fmadd_ps(_mm512_set1_ps(p[7 * s]), w, a7)
            a8 = _mm512_fmadd_ps(_mm512_set1_ps(p[8 * s]), w, a8)
            a9 = _mm512_fmadd_ps(_mm512_set1_ps(p[9 * s]), w, a9)
            a10 = _mm512_fmadd_ps(_mm512_set1_ps(p[10 * s]), w, a10)
            a11 = _mm512_fmadd_ps(_mm512_set1_ps(p[11 * s]), w, a11)
        }
        _mm512_storeu_ps(tile, a0); _mm512_storeu_ps(tile + t, a1); _mm512_storeu_ps(tile + 2 * t, a2)
        _mm512_storeu_ps(tile + 3 * t, a3); _mm512_storeu_ps(tile + 4 * t, a4); _mm512_storeu_ps(tile + 5 * t, a5)
        _mm512_storeu_ps(tile + 6 * t, a6); _mm512_storeu_ps(tile + 7 * t, a7); _mm512_storeu_ps(tile + 8 * t, a8)
        _mm512_storeu_ps(tile + 9 * t, a9); _mm512_storeu_ps(tile + 10 * t, a10); _mm512_storeu_ps(tile + 11 * t, a11)
        return
    }
    var b0 = zero, b1 = zero, b2 = zero, b3 = zero, b4 = zero, b5 = zero
    var b6 = zero, b7 = zero, b8 = zero, b9 = zero, b10 = zero, b11 = zero
    if accumulate {
        let high = tile + 16
        b0 = _mm512_loadu_ps(high); b1 = _mm512_loadu_ps(high + t); b2 = _mm512_loadu_ps(high + 2 * t)
        b3 = _mm512_loadu_ps(high + 3 * t); b4 = _mm512_loadu_ps(high + 4 * t); b5 = _mm512_loadu_ps(high + 5 * t)
        b6 = _mm512_loadu_ps(high + 6 * t); b7 = _mm512_loadu_ps(high + 7 * t); b8 = _mm512_loadu_ps(high + 8 * t)
        b9 = _mm512_loadu_ps(high + 9 * t); b10 = _mm512_loadu_ps(high + 10 * t); b11 = _mm512_loadu_ps(high + 11 * t)
    }
    for d in 0..<depth {
        let w = _mm512_loadu_ps(wT + d * 32), u = _mm512_loadu_ps(wT + d * 32 + 16)
        let p = x + offsets[d]
        var v = _mm512_set1_ps(p[0]); a0 = _mm512_fmadd_ps(v, w, a0); b0 = _mm512_fmadd_ps(v, u, b0)
        v = _mm512_set1_ps(p[s]); a1 = _mm512_fmadd_ps(v, w, a1); b1 = _mm512_fmadd_ps(v, u, b1)
        v = _mm512_set1_ps(p[2 * s]); a2 = _mm512_fmadd_ps(v, w, a2); b2 = _mm512_fmadd_ps(v, u, b2)
        v = _mm512_set1_ps(p[3 * s]); a3 = _mm512_fmadd_ps(v, w, a3); b3 = _mm512_fmadd_ps(v, u, b3)
        v = _mm512_set1_ps(p[4 * s]); a4 = _mm512_fmadd_ps(v, w, a4); b4 = _mm512_fmadd_ps(v, u, b4)
        v = _mm512_set1_ps(p[5 * s]); a5 = _mm512_fmadd_ps(v, w, a5); b5 = _mm512_fmadd_ps(v, u, b5)
        v = _mm512_set1_ps(p[6 * s]); a6 = _mm512_fmadd_ps(v, w, a6); b6 = _mm512_fmadd_ps(v, u, b6)
        v = _mm512_set1_ps(p[7 * s]); a7 = _mm512_fmadd_ps(v, w, a7); b7 = _mm512_fmadd_ps(v, u, b7)
        v = _mm512_set1_ps(p[8 * s]); a8 = _mm512_fmadd_ps(v, w, a8); b8 = _mm512_fmadd_ps(v, u, b8)
        v = _mm512_set1_ps(p[9 * s]); a9 = _mm512_fmadd_ps(v, w, a9); b9 = _mm512_fmadd_ps(v, u, b9)
        v = _mm512_set1_ps(p[10 * s]); a10 = _mm512_fmadd_ps(v, w, a10); b10 = _mm512_fmadd_ps(v, u, b10)
        v = _mm512_set1_ps(p[11 * s]); a11 = _mm512_fmadd_ps(v, w, a11); b11 = _mm512_fmadd_ps(v, u, b11)
    }
    let high = tile + 16
    _mm512_storeu_ps(tile, a0); _mm512_storeu_ps(high, b0)
    _mm512_storeu_ps(tile + t, a1); _mm512_storeu_ps(high + t, b1)
    _mm512_storeu_ps(tile + 2 * t, a2); _mm512_storeu_ps(high + 2 * t, b2)
    _mm512_storeu_ps(tile + 3 * t, a3); _mm512_storeu_ps(high + 3 * t, b3)
    _mm512_storeu_ps(tile + 4 * t, a4); _mm512_storeu_ps(high + 4 * t, b4)
    _mm512_storeu_ps(tile + 5 * t, a5); _mm512_storeu_ps(high + 5 * t, b5)
    _mm512_storeu_ps(tile + 6 * t, a6); _mm512_storeu_ps(high + 6 * t, b6)
    _mm512_storeu_ps(tile + 7 * t, a7); _mm512_storeu_ps(high + 7 * t, b7)
    _mm512_storeu_ps(tile + 8 * t, a8); _mm512_storeu_ps(high + 8 * t, b8)
    _mm512_storeu_ps(tile + 9 * t, a9); _mm512_storeu_ps(high + 9 * t, b9)
    _mm512_storeu_ps(tile + 10 * t, a10); _mm512_storeu_ps(high + 10 * t, b10)
    _mm512_storeu_ps(tile + 11 * t, a11); _mm512_storeu_ps(high + 11 * t, b11)
}
/// Lane-sweep tile → channel planes: the tile holds twelve pixel rows of `channels` (≤ 32)
/// channels at `tile + r·tileStride`; rows `first..<first + count` go to channel c's plane at
/// `dst + c·plane + (r − first)`, as `old·beta + sum` when `beta ≠ 0`, then `+ bias[c]`, the
/// residual (laid out like `dst`) before or after max(0, ·) when asked (the same operations, in
/// the same order, as the scalar write-out and `Epilogue.apply`). Each 16-channel half is transposed in registers (12 rows, padded to 16,
/// through 64-bit unpacks and two-source permutes), then one masked store per channel: the
/// scalar transposing copy it replaces was a quarter of a 64→64 3×3 conv's time on Intel.
@inline(never)
package func laneTileToPlanesAVX512(_ tile: UnsafePointer<Float>, _ tileStride: Int, _ first: Int, _ count: Int,
                                    _ channels: Int, _ dst: UnsafeMutablePointer<Float>, _ plane: Int, _ beta: Float,
                                    _ bias: UnsafePointer<Float>?, _ relu: Bool,
                                    _ residual: UnsafePointer<Float>? = nil, _ residualBefore: Bool = true) {
    let zero = _mm512_setzero_ps()
    let mask = __mmask16(truncatingIfNeeded: ((1 << count) - 1) << first)
    // Lanes 0–3 and 8–11 of a then of b ("low" halves of 128-bit pairs), or lanes 4–7 and 12–15.
    let evenQuads = _mm512_set_epi32(27, 26, 25, 24, 19, 18, 17, 16, 11, 10, 9, 8, 3, 2, 1, 0)
    let oddQuads = _mm512_set_epi32(31, 30, 29, 28, 23, 22, 21, 20, 15, 14, 13, 12, 7, 6, 5, 4)
    @inline(__always) func lo64(_ a: __m512, _ b: __m512) -> __m512 {
        _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)))
    }
    @inline(__always) func hi64(_ a: __m512, _ b: __m512) -> __m512 {
        _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)))
    }
    var half = 0
    while half * 16 < channels {
        let src = tile + 16 * half
        @inline(__always) func row(_ r: Int) -> __m512 { _mm512_loadu_ps(src + r * tileStride) }
        // Rows a–l (0–11); m–p are zero.
        let t0 = _mm512_unpacklo_ps(row(0), row(1)), t1 = _mm512_unpackhi_ps(row(0), row(1))
        let t2 = _mm512_unpacklo_ps(row(2), row(3)), t3 = _mm512_unpackhi_ps(row(2), row(3))
        let t4 = _mm512_unpacklo_ps(row(4), row(5)), t5 = _mm512_unpackhi_ps(row(4), row(5))
        let t6 = _mm512_unpacklo_ps(row(6), row(7)), t7 = _mm512_unpackhi_ps(row(6), row(7))
        let t8 = _mm512_unpacklo_ps(row(8), row(9)), t9 = _mm512_unpackhi_ps(row(8), row(9))
        let t10 = _mm512_unpacklo_ps(row(10), row(11)), t11 = _mm512_unpackhi_ps(row(10), row(11))
        /// Column c's twelve rows, written out with the epilogue.
        @inline(__always) func put(_ column: Int, _ sums: __m512) {
            let c = 16 * half + column
            guard c < channels else { return }
            let p = dst + c * plane - first
            var v = sums
            if beta != 0 { v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(mask, p))) }
            if let bias { v = _mm512_add_ps(v, _mm512_set1_ps(bias[c])) }
            let res = residual.map { $0 + c * plane - first }
            if let res, residualBefore { v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, res)) }
            if relu { v = _mm512_max_ps(zero, v) }
            if let res, !residualBefore { v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, res)) }
            _mm512_mask_storeu_ps(p, mask, v)
        }
        /// `rows0`, `rows4`, `rows8`: in each 128-bit lane L, column 4L + j of rows 0–3, 4–7,
        /// 8–11. Pairs lanes into columns j + 4L of rows 0–7 and 8–15, then into whole columns.
        @inline(__always) func columns(_ j: Int, _ rows0: __m512, _ rows4: __m512, _ rows8: __m512) {
            let v0 = _mm512_permutex2var_ps(rows0, evenQuads, rows4), v1 = _mm512_permutex2var_ps(rows0, oddQuads, rows4)
            let v2 = _mm512_permutex2var_ps(rows8, evenQuads, zero), v3 = _mm512_permutex2var_ps(rows8, oddQuads, zero)
            put(j, _mm512_permutex2var_ps(v0, evenQuads, v2)); put(j + 8, _mm512_permutex2var_ps(v0, oddQuads, v2))
            put(j + 4, _mm512_permutex2var_ps(v1, evenQuads, v3)); put(j + 12, _mm512_permutex2var_ps(v1, oddQuads, v3))
        }
        columns(0, lo64(t0, t2), lo64(t4, t6), lo64(t8, t10))
        columns(1, hi64(t0, t2), hi64(t4, t6), hi64(t8, t10))
        columns(2, lo64(t1, t3), lo64(t5, t7), lo64(t9, t11))
        columns(3, hi64(t1, t3), hi64(t5, t7), hi64(t9, t11))
        half += 1
    }
}
#endif
