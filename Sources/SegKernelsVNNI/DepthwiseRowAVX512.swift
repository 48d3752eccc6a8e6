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

/// A block's shape for `depthwiseRowsAVX512`: `rows` output rows × `vectors` 16-lane vectors
/// each, at most eight accumulators, so that FMA latency (4 cycles) is hidden by independent
/// sums even where a row is one or two vectors wide (23×30 and 12×15 maps).
private protocol DepthwiseBlock { static var rows: Int { get }; static var vectors: Int { get } }
private enum Block8x1: DepthwiseBlock { static var rows: Int { 8 }; static var vectors: Int { 1 } }
private enum Block4x2: DepthwiseBlock { static var rows: Int { 4 }; static var vectors: Int { 2 } }
private enum Block2x3: DepthwiseBlock { static var rows: Int { 2 }; static var vectors: Int { 3 } }
private enum Block2x4: DepthwiseBlock { static var rows: Int { 2 }; static var vectors: Int { 4 } }

/// Output rows of a depthwise conv from SegKernels' zero-bordered, phase-split scratch
/// (`Conv2D.depthwise`): output row r (r < `count`), column x is bias + Σ_t w[t] ·
/// (row + r·rowStep)[tapOffsets[t] + x], the taps in order, one fused multiply-add each (the
/// same per-lane operations as the 8-lane AVX2 path, so the sums agree bit for bit), then the
/// epilogue's residual (at `residual + r·outStep + x`) and activation in `Epilogue.apply`'s
/// order, and one store to `out + r·outStep + x`. Sixteen outputs per vector; up to eight
/// vectors in flight over one to eight rows, as the row's width allows (a single row has only
/// two on a 30-wide map: a latency-bound chain). Vectors past `width` or rows past `count` run
/// under a zero mask: nothing outside the block is read from the scratch or written.
@inline(never)
package func depthwiseRowsAVX512(_ row: UnsafePointer<Float>, rowStep: Int, count: Int,
                                 _ tapOffsets: UnsafePointer<Int>, _ taps: Int,
                                 _ w: UnsafePointer<Float>, _ bias: Float, _ width: Int,
                                 _ out: UnsafeMutablePointer<Float>, outStep: Int, _ residual: UnsafePointer<Float>?,
                                 _ e: PointwiseAVX512Epilogue) {
    let vectors = (width + 15) / 16
    var r = 0
    while r < count {
        let n = count - r, base = row + r * rowStep, o = out + r * outStep, res = residual.map { $0 + r * outStep }
        switch vectors {
        case 1: depthwiseBlock(Block8x1.self, base, rowStep, n, tapOffsets, taps, w, bias, width, 0, o, outStep, res, e)
        case 2: depthwiseBlock(Block4x2.self, base, rowStep, n, tapOffsets, taps, w, bias, width, 0, o, outStep, res, e)
        case 3: depthwiseBlock(Block2x3.self, base, rowStep, n, tapOffsets, taps, w, bias, width, 0, o, outStep, res, e)
        default:
            var x = 0
            while x < width {
                depthwiseBlock(Block2x4.self, base, rowStep, n, tapOffsets, taps, w, bias, width, x, o, outStep, res, e)
                x += 64
            }
        }
        r += vectors <= 1 ? 8 : vectors == 2 ? 4 : 2
    }
}

/// One block of `B.rows` rows × `B.vectors` vectors from column `x`. Accumulator k is row
/// k / vectors, vector k % vectors; the compiler drops the ones a block shape does not have
/// (B's counts are constants after specialisation). Rows past `rowsLeft` recompute the last
/// one and are not stored, so every load stays inside the scratch and the masks depend on the
/// column alone: one mask register per vector of a row (eight distinct ones would not fit in
/// the seven usable registers and were reloaded from the stack every tap).
@inline(__always)
private func depthwiseBlock<B: DepthwiseBlock>(_: B.Type, _ row: UnsafePointer<Float>, _ rowStep: Int, _ rowsLeft: Int,
                                               _ tapOffsets: UnsafePointer<Int>, _ taps: Int,
                                               _ w: UnsafePointer<Float>, _ bias: Float, _ width: Int, _ x: Int,
                                               _ out: UnsafeMutablePointer<Float>, _ outStep: Int, _ residual: UnsafePointer<Float>?,
                                               _ e: PointwiseAVX512Epilogue) {
    let v = B.vectors, used = B.rows * B.vectors
    @inline(__always) func columnMask(_ c: Int) -> __mmask16 {
        let left = width - x - c * 16
        return left >= 16 ? 0xFFFF : left <= 0 ? 0 : __mmask16((1 << left) - 1)
    }
    let c0 = columnMask(0), c1 = v > 1 ? columnMask(1) : 0, c2 = v > 2 ? columnMask(2) : 0, c3 = v > 3 ? columnMask(3) : 0
    @inline(__always) func mask(_ k: Int) -> __mmask16 {
        switch k % v { case 0: return c0; case 1: return c1; case 2: return c2; default: return c3 }
    }
    @inline(__always) func offset(_ k: Int) -> Int { min(k / v, rowsLeft - 1) * rowStep + x + (k % v) * 16 }
    @inline(__always) func outOffset(_ k: Int) -> Int { (k / v) * outStep + x + (k % v) * 16 }
    let m0 = mask(0), m1 = mask(1), m2 = mask(2), m3 = mask(3), m4 = mask(4), m5 = mask(5), m6 = mask(6), m7 = mask(7)
    let o0 = offset(0), o1 = offset(1), o2 = offset(2), o3 = offset(3), o4 = offset(4), o5 = offset(5), o6 = offset(6), o7 = offset(7)
    let b = _mm512_set1_ps(bias)
    var a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b
    for t in 0..<taps {
        let wv = _mm512_set1_ps(w[t]), p = row + tapOffsets[t]
        a0 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m0, p + o0), a0)
        if used > 1 { a1 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m1, p + o1), a1) }
        if used > 2 { a2 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m2, p + o2), a2) }
        if used > 3 { a3 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m3, p + o3), a3) }
        if used > 4 { a4 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m4, p + o4), a4) }
        if used > 5 { a5 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m5, p + o5), a5) }
        if used > 6 { a6 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m6, p + o6), a6) }
        if used > 7 { a7 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m7, p + o7), a7) }
    }
    @inline(__always) func finish(_ k: Int, _ acc: __m512, _ m: __mmask16) {
        guard k < used, k / v < rowsLeft, m != 0 else { return }
        let at = outOffset(k)
        finishDepthwiseVector(acc, out + at, residual.map { $0 + at }, m, e)
    }
    finish(0, a0, m0); finish(1, a1, m1); finish(2, a2, m2); finish(3, a3, m3)
    finish(4, a4, m4); finish(5, a5, m5); finish(6, a6, m6); finish(7, a7, m7)
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
