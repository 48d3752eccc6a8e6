// The INT8 path's elementwise add and multiply on 512-bit vectors. Like the kernels beside it,
// it may only run after SegKernels' run-time check (`KernelISA.hasVNNI`).
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// One input's or the output's quantization, as the kernel needs it.
package struct QBinaryAVX512Parameters {
    package var scale: Float
    package var zeroPoint: Int32
    /// The output's code range (0...255 or −128...127); unused for inputs.
    package var qmin: Int32, qmax: Int32
    package init(scale: Float, zeroPoint: Int32, qmin: Int32 = 0, qmax: Int32 = 255) {
        self.scale = scale
        self.zeroPoint = zeroPoint
        self.qmin = qmin
        self.qmax = qmax
    }
}

/// out[i] = Q_o(DQ_a(a[i]) ∘ DQ_b(b[i])), ∘ = + or ·, for `count` u8 codes of a and b: sixteen
/// at a time with the eight-lane path's operations in its order — (code − zero point) to
/// float, times scale; the sum or product; divided by the output scale (a division, as
/// `QuantizeLinear` is specified, so the codes match the scalar reference bit for bit);
/// clamped to the code range less the zero point (max first: a NaN becomes the low end),
/// rounded to nearest even, plus the zero point. The output codes are stored as bytes (two's
/// complement for a signed output). The last vector runs under a mask: nothing past `count`
/// is read or written. Where the eight-lane path spends a 256-bit division per eight codes
/// (the SE blocks' scale multiply was 5.7% of the INT8 demo model), this spends a 512-bit
/// one per sixteen.
@inline(never)
package func qBinaryRowAVX512(add: Bool, _ a: UnsafePointer<UInt8>, _ pa: QBinaryAVX512Parameters,
                              _ b: UnsafePointer<UInt8>, _ pb: QBinaryAVX512Parameters,
                              _ out: UnsafeMutablePointer<UInt8>, _ po: QBinaryAVX512Parameters, _ count: Int) {
    let za = _mm512_set1_epi32(pa.zeroPoint), zb = _mm512_set1_epi32(pb.zeroPoint), zo = _mm512_set1_epi32(po.zeroPoint)
    let sa = _mm512_set1_ps(pa.scale), sb = _mm512_set1_ps(pb.scale), so = _mm512_set1_ps(po.scale)
    let low = _mm512_set1_ps(Float(po.qmin - po.zeroPoint)), high = _mm512_set1_ps(Float(po.qmax - po.zeroPoint))
    var i = 0
    while i < count {
        let left = count - i
        let m: __mmask16 = left >= 16 ? 0xFFFF : __mmask16((1 << left) - 1)
        let x = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, a + i))
        let y = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, b + i))
        let u = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(x, za)), sa)
        let v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(y, zb)), sb)
        let q = _mm512_div_ps(add ? _mm512_add_ps(u, v) : _mm512_mul_ps(u, v), so)
        let c = _mm512_min_ps(_mm512_max_ps(q, low), high)
        let codes = _mm512_add_epi32(_mm512_cvtps_epi32(c), zo)
        _mm_mask_storeu_epi8(out + i, m, _mm512_cvtepi32_epi8(codes))
        i += 16
    }
}
#endif
