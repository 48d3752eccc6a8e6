// The packed GEMM's tile on 512-bit vectors. Like the kernels beside it, it may only run after
// SegKernels' run-time check (`KernelISA.hasVNNI`).
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// C[12×16] = alpha · A·B + beta · C over `k` depth rows, from two packed 6-row A panels
/// (`a0` rows 0–5, `a1` rows 6–11, each [k][6]) and one packed 16-column B panel ([k][16]).
/// Twelve zmm accumulators, one B load and twelve broadcast FMAs per depth row: on a core with
/// a full 512-bit datapath (Zen 5) twice the work per instruction of the 6×16 AVX2 tile, and
/// each element summed in the same order, so the results are the AVX2 tile's bit for bit.
@inline(never)
package func gemmTile12x16AVX512(_ k: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                 _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
    let zero = _mm512_setzero_ps()
    var c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero
    var c6 = zero, c7 = zero, c8 = zero, c9 = zero, c10 = zero, c11 = zero
    var pa = a0, pc = a1, pb = b
    for _ in 0..<k {
        let bv = _mm512_loadu_ps(pb)
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
        pa += 6; pc += 6; pb += 16
    }
    let va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta)
    // The AVX2 tile's store, term for term.
    @inline(__always) func put(_ v: __m512, _ p: UnsafeMutablePointer<Float>) {
        if beta == 0 {
            _mm512_storeu_ps(p, _mm512_mul_ps(v, va))
        } else if beta == 1 && alpha == 1 {
            _mm512_storeu_ps(p, _mm512_add_ps(v, _mm512_loadu_ps(p)))
        } else {
            _mm512_storeu_ps(p, _mm512_fmadd_ps(v, va, _mm512_mul_ps(_mm512_loadu_ps(p), vb)))
        }
    }
    put(c0, c); put(c1, c + ldc); put(c2, c + 2 * ldc); put(c3, c + 3 * ldc)
    put(c4, c + 4 * ldc); put(c5, c + 5 * ldc); put(c6, c + 6 * ldc); put(c7, c + 7 * ldc)
    put(c8, c + 8 * ldc); put(c9, c + 9 * ldc); put(c10, c + 10 * ldc); put(c11, c + 11 * ldc)
}
#endif
