#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// C[6×16] = alpha · (Apanel · Bpanel) + beta · C, where Apanel is `k × 6` (6 floats per
/// depth step) and Bpanel is `k × 16` (16 floats per depth step), as `PackedMatrix` lays
/// them out. `beta == 0` never reads C, so garbage or NaN there does not leak through.
typealias MicroKernel = (_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                         _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                         _ alpha: Float, _ beta: Float) -> Void

func microKernel(for isa: KernelISA) -> MicroKernel {
    #if arch(x86_64)
    if isa == .avx2 { return microKernelAVX2 }
    #endif
    return microKernelPortable
}

/// Portable version: twelve 8-lane accumulators, multiply then add (no FMA assumed).
func microKernelPortable(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                         _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
    withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 12) { acc in
        acc.initialize(repeating: .zero)
        var pa = a
        var pb = b
        for _ in 0..<k {
            let b0 = load8(pb)
            let b1 = load8(pb + 8)
            for r in 0..<6 {
                let av = SIMD8<Float>(repeating: pa[r])
                acc[2 * r] += av * b0
                acc[2 * r + 1] += av * b1
            }
            pa += 6
            pb += 16
        }
        for r in 0..<6 {
            let row = c + r * ldc
            for h in 0..<2 {
                var v = acc[2 * r + h] * alpha
                if beta != 0 { v += load8(row + 8 * h) * beta }
                store8(v, row + 8 * h)
            }
        }
    }
}

#if arch(x86_64)
/// AVX2 + FMA version: 12 ymm accumulators, 2 for the B row, 1 for the A broadcast —
/// 15 of the 16 registers, which is why the tile is 6×16.
func microKernelAVX2(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                     _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
    var c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps()
    var c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps()
    var c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps()
    var c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps()
    var c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps()
    var c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps()
    var pa = a
    var pb = b
    for _ in 0..<k {
        let b0 = _mm256_loadu_ps(pb)
        let b1 = _mm256_loadu_ps(pb + 8)
        var av = _mm256_broadcast_ss(pa)
        c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01)
        av = _mm256_broadcast_ss(pa + 1)
        c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11)
        av = _mm256_broadcast_ss(pa + 2)
        c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21)
        av = _mm256_broadcast_ss(pa + 3)
        c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31)
        av = _mm256_broadcast_ss(pa + 4)
        c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41)
        av = _mm256_broadcast_ss(pa + 5)
        c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51)
        pa += 6
        pb += 16
    }
    let va = _mm256_set1_ps(alpha)
    @inline(__always) func put(_ v: __m256, _ p: UnsafeMutablePointer<Float>) {
        if beta == 0 {
            _mm256_storeu_ps(p, _mm256_mul_ps(v, va))
        } else if beta == 1 && alpha == 1 {
            _mm256_storeu_ps(p, _mm256_add_ps(v, _mm256_loadu_ps(p)))
        } else {
            _mm256_storeu_ps(p, _mm256_fmadd_ps(v, va, _mm256_mul_ps(_mm256_loadu_ps(p), _mm256_set1_ps(beta))))
        }
    }
    put(c00, c); put(c01, c + 8)
    put(c10, c + ldc); put(c11, c + ldc + 8)
    put(c20, c + 2 * ldc); put(c21, c + 2 * ldc + 8)
    put(c30, c + 3 * ldc); put(c31, c + 3 * ldc + 8)
    put(c40, c + 4 * ldc); put(c41, c + 4 * ldc + 8)
    put(c50, c + 5 * ldc); put(c51, c + 5 * ldc + 8)
}
#endif
