// The AVX512-VNNI (256-bit, AVX512VL) INT8 GEMM micro-kernel. This module is compiled with
// AVX-512 code generation enabled, so NOTHING in it may run before SegKernels' run-time
// check (`KernelISA.hasVNNI`: CPUID leaf 7 VNNI + VL, OS-enabled ZMM state). Keep it to
// this one function: anything else here could be auto-vectorized into AVX-512 too.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// 4 rows × 16 channels, K in groups of 4: u8 row bytes broadcast as one dword, one
/// `vpdpbusd` per row and 8-channel half against the [16][4] s8 weight panel step (the
/// `.maddubs` packing of `QPackedWeights`). Each lane adds u8·s8 over 4 bytes straight into
/// s32 with no intermediate saturation, so it is exact for any s8 weights.
///
/// Sums start at `bias[0..<16]`; the 4 × 16 s32 result is stored row-major at `tile`
/// (64 Int32, any alignment).
@inline(never)
package func qKernelVNNI(_ groups: Int, _ a0: UnsafeRawPointer, _ a1: UnsafeRawPointer, _ a2: UnsafeRawPointer, _ a3: UnsafeRawPointer,
                        _ w: UnsafePointer<UInt8>, _ bias: UnsafePointer<Int32>, _ tile: UnsafeMutableRawPointer) {
    let b0 = _mm256_loadu_si256(UnsafeRawPointer(bias).assumingMemoryBound(to: __m256i.self))
    let b1 = _mm256_loadu_si256(UnsafeRawPointer(bias + 8).assumingMemoryBound(to: __m256i.self))
    var c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1
    // `_mm256_dpbusd_epi32` is a macro over a builtin, which Swift cannot import; the masked
    // form is an inline function, and an all-ones mask folds to the plain `vpdpbusd`.
    @inline(__always) func dpbusd(_ s: __m256i, _ x: __m256i, _ w: __m256i) -> __m256i {
        _mm256_mask_dpbusd_epi32(s, 0xFF, x, w)
    }
    var pw = UnsafeRawPointer(w)
    var off = 0
    for _ in 0..<groups {
        let w0 = _mm256_loadu_si256(pw.assumingMemoryBound(to: __m256i.self))
        let w1 = _mm256_loadu_si256((pw + 32).assumingMemoryBound(to: __m256i.self))
        var x = _mm256_set1_epi32(Int32(bitPattern: a0.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
        c00 = dpbusd(c00, x, w0); c01 = dpbusd(c01, x, w1)
        x = _mm256_set1_epi32(Int32(bitPattern: a1.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
        c10 = dpbusd(c10, x, w0); c11 = dpbusd(c11, x, w1)
        x = _mm256_set1_epi32(Int32(bitPattern: a2.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
        c20 = dpbusd(c20, x, w0); c21 = dpbusd(c21, x, w1)
        x = _mm256_set1_epi32(Int32(bitPattern: a3.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
        c30 = dpbusd(c30, x, w0); c31 = dpbusd(c31, x, w1)
        pw += 64
        off += 4
    }
    @inline(__always) func put(_ v: __m256i, _ i: Int) {
        _mm256_storeu_si256((tile + i * 32).assumingMemoryBound(to: __m256i.self), v)
    }
    put(c00, 0); put(c01, 1); put(c10, 2); put(c11, 3); put(c20, 4); put(c21, 5); put(c30, 6); put(c31, 7)
}
#endif
