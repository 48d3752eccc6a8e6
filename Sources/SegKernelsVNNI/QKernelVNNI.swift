// The AVX512-VNNI (256-bit, AVX512VL) INT8 GEMM micro-kernel. This module is compiled with
// AVX-512 code generation enabled, so NOTHING in it may run before SegKernels' run-time
// check (`KernelISA.hasVNNI`: CPUID leaf 7 VNNI + VL, OS-enabled ZMM state). Keep this module
// to the kernels that need AVX-512 (this one and `PointwiseAVX512`): anything else here could
// be auto-vectorized into AVX-512 too.
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

#if arch(x86_64)
/// 8 rows × 16 channels: `qKernelVNNI` with twice the rows per call, for blocks whose sums go
/// to memory (u8 output), on 512-bit vectors: a K group's 16 × 4 weight bytes are one zmm, so
/// each row is one `vpdpbusd` of 64 multiply-adds (the 256-bit version spent two on the two
/// 8-channel halves, and half the instructions per sum is what a core with two full-width
/// vector ports runs twice as fast). A call's fixed cost (bias loads, stores, the call) is
/// spread over 8 rows. Rows are at `a + r·stride`; the 8 × 16 s32 sums go row-major to `tile`
/// (128 Int32). Integer sums: the same values as the 256-bit kernel, exactly.
@inline(never)
package func qKernelVNNI8(_ groups: Int, _ a: UnsafeRawPointer, _ stride: Int,
                         _ w: UnsafePointer<UInt8>, _ bias: UnsafePointer<Int32>, _ tile: UnsafeMutableRawPointer) {
    let b = _mm512_loadu_si512(UnsafeRawPointer(bias))
    var c0 = b, c1 = b, c2 = b, c3 = b, c4 = b, c5 = b, c6 = b, c7 = b
    let a0 = a, a1 = a + stride, a2 = a + 2 &* stride, a3 = a + 3 &* stride
    let a4 = a + 4 &* stride, a5 = a + 5 &* stride, a6 = a + 6 &* stride, a7 = a + 7 &* stride
    @inline(__always) func row(_ p: UnsafeRawPointer, _ off: Int) -> __m512i {
        _mm512_set1_epi32(Int32(bitPattern: p.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
    }
    var pw = UnsafeRawPointer(w)
    var off = 0
    for _ in 0..<groups {
        let wv = _mm512_loadu_si512(pw)
        c0 = _mm512_dpbusd_epi32(c0, row(a0, off), wv)
        c1 = _mm512_dpbusd_epi32(c1, row(a1, off), wv)
        c2 = _mm512_dpbusd_epi32(c2, row(a2, off), wv)
        c3 = _mm512_dpbusd_epi32(c3, row(a3, off), wv)
        c4 = _mm512_dpbusd_epi32(c4, row(a4, off), wv)
        c5 = _mm512_dpbusd_epi32(c5, row(a5, off), wv)
        c6 = _mm512_dpbusd_epi32(c6, row(a6, off), wv)
        c7 = _mm512_dpbusd_epi32(c7, row(a7, off), wv)
        pw += 64
        off += 4
    }
    @inline(__always) func put(_ v: __m512i, _ r: Int) { _mm512_storeu_si512(tile + r * 64, v) }
    put(c0, 0); put(c1, 1); put(c2, 2); put(c3, 3); put(c4, 4); put(c5, 5); put(c6, 6); put(c7, 7)
}
#endif
