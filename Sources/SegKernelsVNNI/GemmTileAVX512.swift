// The GEMM's tiles on 512-bit vectors. Like the kernels beside it, they may only run after
// SegKernels' run-time check (`KernelISA.hasVNNI`).
//
// Each tile sums every element over depth in the same order as SegKernels' 6×16 AVX2 tile,
// one FMA per depth row, and stores alpha·sum (+ beta·C) with the same terms, so results are
// that tile's bit for bit (tested in GEMMTests).
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Where depth row d of a 16-wide B panel starts: a packed panel (`base + 16·d`) or a row read
/// in place (`origin + offsets[d]`), as SegKernels' `PanelRows`; one body serves both.
private protocol ZmmPanelRows {
    func row(_ d: Int) -> UnsafePointer<Float>
}

private struct PackedZmmRows: ZmmPanelRows {
    let base: UnsafePointer<Float>
    @inline(__always) func row(_ d: Int) -> UnsafePointer<Float> { base + d * 16 }
}

private struct OffsetZmmRows: ZmmPanelRows {
    let origin: UnsafePointer<Float>
    let offsets: UnsafePointer<Int>
    @inline(__always) func row(_ d: Int) -> UnsafePointer<Float> { origin + offsets[d] }
}

/// The AVX2 tile's store, term for term.
@inline(__always)
private func storeRow(_ v: __m512, _ p: UnsafeMutablePointer<Float>, _ alpha: Float, _ beta: Float) {
    if beta == 0 {
        _mm512_storeu_ps(p, _mm512_mul_ps(v, _mm512_set1_ps(alpha)))
    } else if beta == 1 && alpha == 1 {
        _mm512_storeu_ps(p, _mm512_add_ps(v, _mm512_loadu_ps(p)))
    } else {
        _mm512_storeu_ps(p, _mm512_fmadd_ps(v, _mm512_set1_ps(alpha), _mm512_mul_ps(_mm512_loadu_ps(p), _mm512_set1_ps(beta))))
    }
}

/// `storeRow`, then SegKernels' `Epilogue` in registers (bias of `row`, residual at
/// (`row`, `column`) of the tile, activation), in `Epilogue.apply`'s order, when given.
@inline(__always)
private func finishRow(_ v: __m512, _ p: UnsafeMutablePointer<Float>, _ alpha: Float, _ beta: Float,
                       _ e: PointwiseAVX512Epilogue?, _ row: Int, _ column: Int) {
    guard let e else { return storeRow(v, p, alpha, beta) }
    var x: __m512
    if beta == 0 {
        x = _mm512_mul_ps(v, _mm512_set1_ps(alpha))
    } else if beta == 1 && alpha == 1 {
        x = _mm512_add_ps(v, _mm512_loadu_ps(p))
    } else {
        x = _mm512_fmadd_ps(v, _mm512_set1_ps(alpha), _mm512_mul_ps(_mm512_loadu_ps(p), _mm512_set1_ps(beta)))
    }
    if let bias = e.bias { x = _mm512_add_ps(x, _mm512_set1_ps(bias[row])) }
    let residual = e.residual.map { $0 + row * e.residualStride + column }
    if let residual, e.residualBefore { x = _mm512_add_ps(x, _mm512_loadu_ps(residual)) }
    x = activateAVX512(x, e)
    if let residual, !e.residualBefore { x = _mm512_add_ps(x, _mm512_loadu_ps(residual)) }
    _mm512_storeu_ps(p, x)
}

/// C[12×16] from two packed 6-row A panels (`a0` rows 0–5, `a1` rows 6–11, each [k][6]) and
/// one 16-column B panel: twelve zmm accumulators, one B load and twelve broadcast FMAs per
/// depth row.
@inline(__always)
private func tile12x16<R: ZmmPanelRows>(_ k: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ rows: R,
                                        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
    let zero = _mm512_setzero_ps()
    var c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero
    var c6 = zero, c7 = zero, c8 = zero, c9 = zero, c10 = zero, c11 = zero
    var pa = a0, pc = a1
    for d in 0..<k {
        let bv = _mm512_loadu_ps(rows.row(d))
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(pa[0]), bv, c0)
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(pa[1]), bv, c1)
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(pa[2]), bv, c2)
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(pa[3]), bv, c3)
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(pa[4]), bv, c4)
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(pa[5]), bv, c5)
        c6 = _mm512_fmadd_ps(_mm512_set1_ps(pc[0]), bv, c6)
        c7 = _mm512_fmadd_ps(_mm512_set1_ps(pc[1]), bv, c7)
        c8 = _mm512_fmadd_ps(_mm512_set1_ps(pc[2]), bv, c8)
        c9 = _mm512_fmadd_ps(_mm512_set1_ps(pc[3]), bv, c9)
        c10 = _mm512_fmadd_ps(_mm512_set1_ps(pc[4]), bv, c10)
        c11 = _mm512_fmadd_ps(_mm512_set1_ps(pc[5]), bv, c11)
        pa += 6; pc += 6
    }
    storeRow(c0, c, alpha, beta); storeRow(c1, c + ldc, alpha, beta)
    storeRow(c2, c + 2 * ldc, alpha, beta); storeRow(c3, c + 3 * ldc, alpha, beta)
    storeRow(c4, c + 4 * ldc, alpha, beta); storeRow(c5, c + 5 * ldc, alpha, beta)
    storeRow(c6, c + 6 * ldc, alpha, beta); storeRow(c7, c + 7 * ldc, alpha, beta)
    storeRow(c8, c + 8 * ldc, alpha, beta); storeRow(c9, c + 9 * ldc, alpha, beta)
    storeRow(c10, c + 10 * ldc, alpha, beta); storeRow(c11, c + 11 * ldc, alpha, beta)
}

/// C[12×32] from two packed 6-row A panels and two 16-column B panels (`rows0` columns 0–15,
/// `rows1` columns 16–31). Twenty-four zmm accumulators: each depth row costs twelve
/// broadcasts and two B loads for twenty-four FMAs, where the 12×16 tile spends thirteen loads
/// on twelve FMAs and so waits on the load ports of a core with two 512-bit FMA units (Intel
/// Xeon since Skylake-SP, Zen 5).
@inline(__always)
private func tile12x32<R: ZmmPanelRows>(_ k: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ rows0: R, _ rows1: R,
                                        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float,
                                        _ e: PointwiseAVX512Epilogue?) {
    let zero = _mm512_setzero_ps()
    var c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero
    var c6 = zero, c7 = zero, c8 = zero, c9 = zero, c10 = zero, c11 = zero
    var d0 = zero, d1 = zero, d2 = zero, d3 = zero, d4 = zero, d5 = zero
    var d6 = zero, d7 = zero, d8 = zero, d9 = zero, d10 = zero, d11 = zero
    var pa = a0, pc = a1
    for d in 0..<k {
        let bv = _mm512_loadu_ps(rows0.row(d)), dv = _mm512_loadu_ps(rows1.row(d))
        var s = _mm512_set1_ps(pa[0]); c0 = _mm512_fmadd_ps(s, bv, c0); d0 = _mm512_fmadd_ps(s, dv, d0)
        s = _mm512_set1_ps(pa[1]); c1 = _mm512_fmadd_ps(s, bv, c1); d1 = _mm512_fmadd_ps(s, dv, d1)
        s = _mm512_set1_ps(pa[2]); c2 = _mm512_fmadd_ps(s, bv, c2); d2 = _mm512_fmadd_ps(s, dv, d2)
        s = _mm512_set1_ps(pa[3]); c3 = _mm512_fmadd_ps(s, bv, c3); d3 = _mm512_fmadd_ps(s, dv, d3)
        s = _mm512_set1_ps(pa[4]); c4 = _mm512_fmadd_ps(s, bv, c4); d4 = _mm512_fmadd_ps(s, dv, d4)
        s = _mm512_set1_ps(pa[5]); c5 = _mm512_fmadd_ps(s, bv, c5); d5 = _mm512_fmadd_ps(s, dv, d5)
        s = _mm512_set1_ps(pc[0]); c6 = _mm512_fmadd_ps(s, bv, c6); d6 = _mm512_fmadd_ps(s, dv, d6)
        s = _mm512_set1_ps(pc[1]); c7 = _mm512_fmadd_ps(s, bv, c7); d7 = _mm512_fmadd_ps(s, dv, d7)
        s = _mm512_set1_ps(pc[2]); c8 = _mm512_fmadd_ps(s, bv, c8); d8 = _mm512_fmadd_ps(s, dv, d8)
        s = _mm512_set1_ps(pc[3]); c9 = _mm512_fmadd_ps(s, bv, c9); d9 = _mm512_fmadd_ps(s, dv, d9)
        s = _mm512_set1_ps(pc[4]); c10 = _mm512_fmadd_ps(s, bv, c10); d10 = _mm512_fmadd_ps(s, dv, d10)
        s = _mm512_set1_ps(pc[5]); c11 = _mm512_fmadd_ps(s, bv, c11); d11 = _mm512_fmadd_ps(s, dv, d11)
        pa += 6; pc += 6
    }
    @inline(__always) func put(_ v: __m512, _ w: __m512, _ row: Int) {
        let p = c + row * ldc
        finishRow(v, p, alpha, beta, e, row, 0); finishRow(w, p + 16, alpha, beta, e, row, 16)
    }
    put(c0, d0, 0); put(c1, d1, 1); put(c2, d2, 2); put(c3, d3, 3)
    put(c4, d4, 4); put(c5, d5, 5); put(c6, d6, 6); put(c7, d7, 7)
    put(c8, d8, 8); put(c9, d9, 9); put(c10, d10, 10); put(c11, d11, 11)
}

/// C[6×32] from one packed 6-row A panel and two 16-column B panels: twelve accumulators, six
/// broadcasts and two B loads per twelve FMAs; the rows a 12-row pairing leaves over.
@inline(__always)
private func tile6x32<R: ZmmPanelRows>(_ k: Int, _ a: UnsafePointer<Float>, _ rows0: R, _ rows1: R,
                                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float,
                                       _ e: PointwiseAVX512Epilogue?) {
    let zero = _mm512_setzero_ps()
    var c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero
    var d0 = zero, d1 = zero, d2 = zero, d3 = zero, d4 = zero, d5 = zero
    var pa = a
    for d in 0..<k {
        let bv = _mm512_loadu_ps(rows0.row(d)), dv = _mm512_loadu_ps(rows1.row(d))
        var s = _mm512_set1_ps(pa[0]); c0 = _mm512_fmadd_ps(s, bv, c0); d0 = _mm512_fmadd_ps(s, dv, d0)
        s = _mm512_set1_ps(pa[1]); c1 = _mm512_fmadd_ps(s, bv, c1); d1 = _mm512_fmadd_ps(s, dv, d1)
        s = _mm512_set1_ps(pa[2]); c2 = _mm512_fmadd_ps(s, bv, c2); d2 = _mm512_fmadd_ps(s, dv, d2)
        s = _mm512_set1_ps(pa[3]); c3 = _mm512_fmadd_ps(s, bv, c3); d3 = _mm512_fmadd_ps(s, dv, d3)
        s = _mm512_set1_ps(pa[4]); c4 = _mm512_fmadd_ps(s, bv, c4); d4 = _mm512_fmadd_ps(s, dv, d4)
        s = _mm512_set1_ps(pa[5]); c5 = _mm512_fmadd_ps(s, bv, c5); d5 = _mm512_fmadd_ps(s, dv, d5)
        pa += 6
    }
    @inline(__always) func put(_ v: __m512, _ w: __m512, _ row: Int) {
        let p = c + row * ldc
        finishRow(v, p, alpha, beta, e, row, 0); finishRow(w, p + 16, alpha, beta, e, row, 16)
    }
    put(c0, d0, 0); put(c1, d1, 1); put(c2, d2, 2)
    put(c3, d3, 3); put(c4, d4, 4); put(c5, d5, 5)
}

/// C[12×16] = alpha · A·B + beta · C from packed panels: A rows 0–5 at `a0`, 6–11 at `a1`
/// ([k][6] each), B [k][16].
@inline(never)
package func gemmTile12x16AVX512(_ k: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                 _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
    tile12x16(k, a0, a1, PackedZmmRows(base: b), c, ldc, alpha, beta)
}

/// C[12×32] from packed panels: B columns 0–15 at `b0`, 16–31 at `b1` ([k][16] each).
@inline(never)
package func gemmTile12x32AVX512(_ k: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
                                 _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>,
                                 _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float,
                                 _ epilogue: PointwiseAVX512Epilogue? = nil) {
    tile12x32(k, a0, a1, PackedZmmRows(base: b0), PackedZmmRows(base: b1), c, ldc, alpha, beta, epilogue)
}

/// C[12×16] with B read in place: depth row d's 16 columns at `origin + offsets[d]`.
@inline(never)
package func directTile12x16AVX512(_ k: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
                                   _ origin: UnsafePointer<Float>, _ offsets: UnsafePointer<Int>,
                                   _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
    tile12x16(k, a0, a1, OffsetZmmRows(origin: origin, offsets: offsets), c, ldc, alpha, beta)
}

/// C[12×32] with B read in place: columns 0–15 of depth row d at `origin0 + offsets[d]`,
/// columns 16–31 at `origin1 + offsets[d]`.
@inline(never)
package func directTile12x32AVX512(_ k: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
                                   _ origin0: UnsafePointer<Float>, _ origin1: UnsafePointer<Float>, _ offsets: UnsafePointer<Int>,
                                   _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float,
                                   _ epilogue: PointwiseAVX512Epilogue? = nil) {
    tile12x32(k, a0, a1, OffsetZmmRows(origin: origin0, offsets: offsets), OffsetZmmRows(origin: origin1, offsets: offsets),
              c, ldc, alpha, beta, epilogue)
}
/// C[6×32] from packed panels: A [k][6], B columns 0–15 at `b0`, 16–31 at `b1`.
@inline(never)
package func gemmTile6x32AVX512(_ k: Int, _ a: UnsafePointer<Float>, _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>,
                                _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float,
                                _ epilogue: PointwiseAVX512Epilogue? = nil) {
    tile6x32(k, a, PackedZmmRows(base: b0), PackedZmmRows(base: b1), c, ldc, alpha, beta, epilogue)
}

/// C[6×32] with B read in place (as `directTile12x32AVX512`).
@inline(never)
package func directTile6x32AVX512(_ k: Int, _ a: UnsafePointer<Float>,
                                  _ origin0: UnsafePointer<Float>, _ origin1: UnsafePointer<Float>, _ offsets: UnsafePointer<Int>,
                                  _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float,
                                  _ epilogue: PointwiseAVX512Epilogue? = nil) {
    tile6x32(k, a, OffsetZmmRows(origin: origin0, offsets: offsets), OffsetZmmRows(origin: origin1, offsets: offsets), c, ldc, alpha, beta,
             epilogue)
}
#endif
