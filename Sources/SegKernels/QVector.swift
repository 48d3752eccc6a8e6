#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

// Eight-lane helpers of the INT8 path. Swift's generic SIMD element-type conversions
// (Int32 ↔ Float, UInt8 ↔ Int32) are not lowered to single instructions; on x86-64 these use
// the AVX2 ones (this target is built with -mavx2), elsewhere the generic forms.

@inline(__always)
func toFloat(_ v: SIMD8<Int32>) -> SIMD8<Float> {
    #if arch(x86_64)
    return unsafeBitCast(_mm256_cvtepi32_ps(unsafeBitCast(v, to: __m256i.self)), to: SIMD8<Float>.self)
    #else
    return SIMD8<Float>(v)
    #endif
}

@inline(__always)
func clamp(_ v: SIMD8<Int32>, _ low: SIMD8<Int32>, _ high: SIMD8<Int32>) -> SIMD8<Int32> {
    #if arch(x86_64)
    let r = _mm256_min_epi32(_mm256_max_epi32(unsafeBitCast(v, to: __m256i.self), unsafeBitCast(low, to: __m256i.self)),
                             unsafeBitCast(high, to: __m256i.self))
    return unsafeBitCast(r, to: SIMD8<Int32>.self)
    #else
    return v.replacing(with: low, where: v .< low).replacing(with: high, where: v .> high)
    #endif
}

/// Eight codes (values already in 0...255 or −128...127) stored as bytes.
@inline(__always)
func storeCodes(_ q: SIMD8<Int32>, _ p: UnsafeMutablePointer<UInt8>) {
    #if arch(x86_64)
    // Truncate each lane to its low byte: shuffle bytes 0, 4, 8, 12 of each 128-bit lane
    // to the front, then gather the two lanes' first dwords.
    let v = unsafeBitCast(q, to: __m256i.self)
    let bytes = _mm256_shuffle_epi8(v, _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                                        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1))
    let packed = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0))
    _mm_storel_epi64(UnsafeMutableRawPointer(p).assumingMemoryBound(to: __m128i.self), _mm256_castsi256_si128(packed))
    #else
    UnsafeMutableRawPointer(p).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: q), as: SIMD8<UInt8>.self)
    #endif
}

/// Sixteen codes from two 8-lane halves: a = codes 0–7, b = 8–15; or, `paired`, the order
/// `vpunpck{l,h}wd` accumulators hold: a = 0–3, 8–11 and b = 4–7, 12–15.
@inline(__always)
func storeCodes16(_ a: SIMD8<Int32>, _ b: SIMD8<Int32>, _ p: UnsafeMutablePointer<UInt8>, paired: Bool = false) {
    #if arch(x86_64)
    let mask = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1)
    let x = _mm256_shuffle_epi8(unsafeBitCast(a, to: __m256i.self), mask)
    let y = _mm256_shuffle_epi8(unsafeBitCast(b, to: __m256i.self), mask)
    // x dwords 0 and 4 hold a's bytes, y's the same for b: interleave as a0 a1 b0 b1.
    let both = _mm256_unpacklo_epi32(x, y)  // lane0: a0 b0 ..., lane1: a1 b1 ...
    // Plain: dwords a0–3, b8–11.. sit at 0, 1 (lane 0) and 4, 5 (lane 1): a0 a1 b0 b1 = 0 4 1 5.
    // Paired: a holds 0–3 | 8–11 and b 4–7 | 12–15, so 0 1 4 5 is already in channel order.
    let ordered = _mm256_permutevar8x32_epi32(both, paired ? _mm256_setr_epi32(0, 1, 4, 5, 0, 0, 0, 0)
                                                           : _mm256_setr_epi32(0, 4, 1, 5, 0, 0, 0, 0))
    _mm_storeu_si128(UnsafeMutableRawPointer(p).assumingMemoryBound(to: __m128i.self), _mm256_castsi256_si128(ordered))
    #else
    if paired {
        let lanes = [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15]
        for l in 0..<16 { p[lanes[l]] = UInt8(truncatingIfNeeded: l < 8 ? a[l] : b[l - 8]) }
    } else {
        storeCodes(a, p)
        storeCodes(b, p + 8)
    }
    #endif
}

@inline(__always)
func loadCodes(_ p: UnsafePointer<UInt8>, signed: Bool) -> SIMD8<Int32> {
    #if arch(x86_64)
    let raw = _mm_loadl_epi64(UnsafeRawPointer(p).assumingMemoryBound(to: __m128i.self))
    return unsafeBitCast(signed ? _mm256_cvtepi8_epi32(raw) : _mm256_cvtepu8_epi32(raw), to: SIMD8<Int32>.self)
    #else
    let raw = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<UInt8>.self)
    return signed ? SIMD8<Int32>(truncatingIfNeeded: SIMD8<Int8>(truncatingIfNeeded: raw)) : SIMD8<Int32>(truncatingIfNeeded: raw)
    #endif
}

extension QuantParameters {
    /// Eight values at once, same rule as `quantize` (codes as Int32): divide, clamp to the
    /// code range minus the zero point (NaN → the low end), round half to even, add it.
    @inline(__always)
    func quantize8(_ x: SIMD8<Float>) -> SIMD8<Int32> {
        #if arch(x86_64)
        let v = _mm256_div_ps(unsafeBitCast(x, to: __m256.self), _mm256_set1_ps(scale))
        // max(v, low) yields `low` when v is NaN (the second operand wins on unordered).
        let c = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(Float(qmin - zeroPoint))), _mm256_set1_ps(Float(qmax - zeroPoint)))
        return unsafeBitCast(_mm256_add_epi32(_mm256_cvtps_epi32(c), _mm256_set1_epi32(zeroPoint)), to: SIMD8<Int32>.self)
        #else
        let v = x / SIMD8(repeating: scale)
        let low = SIMD8<Float>(repeating: Float(qmin - zeroPoint)), high = SIMD8<Float>(repeating: Float(qmax - zeroPoint))
        var c = low.replacing(with: v, where: v .>= low)
        c.replace(with: high, where: c .> high)
        return SIMD8<Int32>(c.rounded(.toNearestOrEven)) &+ SIMD8(repeating: zeroPoint)
        #endif
    }

    /// Eight codes to floats: (q − zeroPoint) · scale.
    @inline(__always)
    func dequantize8(_ q: SIMD8<Int32>) -> SIMD8<Float> {
        toFloat(q &- SIMD8(repeating: zeroPoint)) * SIMD8(repeating: scale)
    }
}
