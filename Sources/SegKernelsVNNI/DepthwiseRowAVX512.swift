// The FP32 depthwise conv's output rows on 512-bit vectors. Like the kernels beside it, it may
// only run after SegKernels' run-time check (`KernelISA.hasVNNI`).
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Residual (before or after), activation and the masked store of one vector of outputs, in
/// `Epilogue.apply`'s order.
@inline(__always)
private func finishDepthwiseVector(_ acc: __m512, _ out: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                                   _ m: __mmask16, _ e: PointwiseAVX512Epilogue) {
    var v = acc
    if let residual, e.residualBefore { v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, residual)) }
    v = activateAVX512(v, e)
    if let residual, !e.residualBefore { v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, residual)) }
    _mm512_mask_storeu_ps(out, m, v)
}

/// One output row of a depthwise conv from SegKernels' zero-bordered, phase-split scratch
/// (`Conv2D.depthwise`): output x is bias + Σ_t w[t] · row[tapOffsets[t] + x], the taps in
/// order, one fused multiply-add each (the same per-lane operations as the 8-lane AVX2 path,
/// so the sums agree bit for bit), then the epilogue's residual (at `residual + x`) and
/// activation in `Epilogue.apply`'s order, and one store. Sixteen outputs per vector, four
/// vectors in flight; the last vector of the row runs under a mask, so nothing past `width`
/// is read from the scratch row or written.
@inline(never)
package func depthwiseRowAVX512(_ row: UnsafePointer<Float>, _ tapOffsets: UnsafePointer<Int>, _ taps: Int,
                                _ w: UnsafePointer<Float>, _ bias: Float, _ width: Int,
                                _ out: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                                _ e: PointwiseAVX512Epilogue) {
    let b = _mm512_set1_ps(bias)
    @inline(__always) func mask(_ x: Int) -> __mmask16 {
        let left = width - x
        return left >= 16 ? 0xFFFF : left <= 0 ? 0 : __mmask16((1 << left) - 1)
    }
    @inline(__always) func finish(_ acc: __m512, _ x: Int, _ m: __mmask16) { finishDepthwiseVector(acc, out + x, residual.map { $0 + x }, m, e) }
    var x = 0
    while x < width {
        let m0 = mask(x), m1 = mask(x + 16), m2 = mask(x + 32), m3 = mask(x + 48)
        var a0 = b, a1 = b, a2 = b, a3 = b
        if m3 != 0 {
            for t in 0..<taps {
                let wv = _mm512_set1_ps(w[t]), p = row + tapOffsets[t] + x
                a0 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m0, p), a0)
                a1 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m1, p + 16), a1)
                a2 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m2, p + 32), a2)
                a3 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m3, p + 48), a3)
            }
            finish(a0, x, m0); finish(a1, x + 16, m1); finish(a2, x + 32, m2); finish(a3, x + 48, m3)
        } else if m2 != 0 {
            // The row's last two or three vectors (maps 33–48 wide: MobileNet's 45×60 rows end so).
            for t in 0..<taps {
                let wv = _mm512_set1_ps(w[t]), p = row + tapOffsets[t] + x
                a0 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m0, p), a0)
                a1 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m1, p + 16), a1)
                a2 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m2, p + 32), a2)
            }
            finish(a0, x, m0); finish(a1, x + 16, m1); finish(a2, x + 32, m2)
        } else if m1 != 0 {
            // Two (23×30 maps: 16 + 14).
            for t in 0..<taps {
                let wv = _mm512_set1_ps(w[t]), p = row + tapOffsets[t] + x
                a0 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m0, p), a0)
                a1 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m1, p + 16), a1)
            }
            finish(a0, x, m0); finish(a1, x + 16, m1)
        } else {
            for t in 0..<taps {
                a0 = _mm512_fmadd_ps(_mm512_set1_ps(w[t]), _mm512_maskz_loadu_ps(m0, row + tapOffsets[t] + x), a0)
            }
            finish(a0, x, m0)
        }
        x += 64
    }
}
#endif

#if arch(x86_64)
/// One output row of a stride-2 depthwise conv from SegKernels' ring of zero-padded input rows
/// (`Conv2D.depthwiseStride2`): `rows[ky]` is kernel row ky's padded input row, nil where it
/// falls in the padding (it adds nothing). Sixteen outputs read 32 consecutive inputs per pair
/// of column taps: their even lanes are tap kx's inputs, their odd lanes tap kx + 1's (two
/// two-source permutes, where the 8-lane path needs four in-lane shuffles for the same
/// outputs). Sums start at the bias and take the taps in the 8-lane path's order (ky, then kx),
/// one fused multiply-add each, so the values agree bit for bit; then the residual and
/// activation as in `depthwiseRowAVX512`. The rows must hold zeros for 32 floats past
/// 2·(width − 1) + kW − 1; stores past `width` are masked off.
@inline(never)
package func depthwiseStride2RowAVX512(_ rows: UnsafePointer<UnsafePointer<Float>?>, _ kH: Int, _ kW: Int,
                                       _ w: UnsafePointer<Float>, _ bias: Float, _ width: Int,
                                       _ out: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                                       _ e: PointwiseAVX512Epilogue) {
    let b = _mm512_set1_ps(bias)
    let even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0)
    let odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1)
    @inline(__always) func finish(_ acc: __m512, _ x: Int) {
        let left = width - x
        finishDepthwiseVector(acc, out + x, residual.map { $0 + x }, left >= 16 ? 0xFFFF : __mmask16((1 << left) - 1), e)
    }
    var x = 0
    while x < width {
        // Two vectors (32 outputs) in flight; a lone last one computes a copy of the first.
        let x1 = x + 16 < width ? x + 16 : x
        var a0 = b, a1 = b
        for ky in 0..<kH {
            guard let row = rows[ky] else { continue }
            let wr = w + ky * kW
            let p0 = row + 2 * x, p1 = row + 2 * x1
            var kx = 0
            while kx < kW {
                let l0 = _mm512_loadu_ps(p0 + kx), h0 = _mm512_loadu_ps(p0 + kx + 16)
                let l1 = _mm512_loadu_ps(p1 + kx), h1 = _mm512_loadu_ps(p1 + kx + 16)
                let we = _mm512_set1_ps(wr[kx])
                a0 = _mm512_fmadd_ps(we, _mm512_permutex2var_ps(l0, even, h0), a0)
                a1 = _mm512_fmadd_ps(we, _mm512_permutex2var_ps(l1, even, h1), a1)
                if kx + 1 < kW {
                    let wo = _mm512_set1_ps(wr[kx + 1])
                    a0 = _mm512_fmadd_ps(wo, _mm512_permutex2var_ps(l0, odd, h0), a0)
                    a1 = _mm512_fmadd_ps(wo, _mm512_permutex2var_ps(l1, odd, h1), a1)
                }
                kx += 2
            }
        }
        finish(a0, x)
        if x1 != x { finish(a1, x1) }
        x += 32
    }
}
#endif
