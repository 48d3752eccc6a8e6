#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Depthwise s8 weights as [tap][channel] 32-bit lanes holding the weight as s16 in the low
/// half and 0 in the high half (so `vpmaddwd` is an exact 32-bit product), channels padded to
/// a multiple of 16 with zeros.
struct QDepthwiseWeights: Sendable {
    let channels: Int, taps: Int, padded: Int
    let values: [Int32]

    init(weights: [Int8], channels: Int, taps: Int) {
        self.channels = channels
        self.taps = taps
        padded = (channels + 15) / 16 * 16
        var v = [Int32](repeating: 0, count: taps * padded)
        for c in 0..<channels {
            for t in 0..<taps { v[t * padded + c] = Int32(UInt16(bitPattern: Int16(weights[c * taps + t]))) }
        }
        values = v
    }
}

/// Direct depthwise convolution on u8 NHWC: per output pixel and 16 channels, per in-bounds
/// tap, (x − zx) · w as exact s16 products (|255 · 128| < 2¹⁵) summed in s32 — padding taps
/// are skipped, which is the same as reading zx. Any kernel size, stride and dilation.
func qDepthwise(shape s: Conv2DShape, weights: QDepthwiseWeights, requantization rq: QRequantization, zeroPoint: Int32,
                input: UnsafePointer<UInt8>, batch: Int, output: UnsafeMutableRawPointer, floatOutput: Bool, context: KernelContext) {
    let oh = s.outputHeight, ow = s.outputWidth, c = s.inputChannels
    let rqp = rq.padded(to: weights.padded)
    weights.values.withUnsafeBufferPointer { wb in
    rqp.bias.withUnsafeBufferPointer { bb in
    rqp.multiplier.withUnsafeBufferPointer { mb in
        guard let w = wb.baseAddress, let bias = bb.baseAddress, let mult = mb.baseAddress else { return }
        context.pool.parallelFor(batch * oh) { range in
            for task in range {
                let image = task / oh, oy = task % oh
                let x = input + image * s.height * s.width * c
                let ky0 = max(0, (s.pads.top - oy * s.strideH + s.dilationH - 1) / s.dilationH)
                let ky1 = min(s.kernelH, (s.height + s.pads.top - oy * s.strideH + s.dilationH - 1) / s.dilationH)
                for ox in 0..<ow {
                    let kx0 = max(0, (s.pads.left - ox * s.strideW + s.dilationW - 1) / s.dilationW)
                    let kx1 = min(s.kernelW, (s.width + s.pads.left - ox * s.strideW + s.dilationW - 1) / s.dilationW)
                    var c0 = 0
                    while c0 < c {
                        var acc0 = SIMD8<Int32>(), acc1 = SIMD8<Int32>()
                        var ky = ky0
                        while ky < ky1 {
                            let iy = oy * s.strideH - s.pads.top + ky * s.dilationH
                            var kx = kx0
                            while kx < kx1 {
                                let ix = ox * s.strideW - s.pads.left + kx * s.dilationW
                                let src = x + (iy * s.width + ix) * c + c0
                                let wt = w + (ky * s.kernelW + kx) * weights.padded + c0
                                accumulate16(src, wt, zeroPoint, &acc0, &acc1, isa: context.isa, valid: min(16, c - c0))
                                kx += 1
                            }
                            ky += 1
                        }
                        let pixel = (image * oh + oy) * ow + ox
                        if floatOutput {
                            let y = output.assumingMemoryBound(to: Float.self) + image * c * oh * ow + oy * ow + ox
                            for l in 0..<min(16, c - c0) {
                                let a = l < 8 ? acc0[l] : acc1[l - 8]
                                y[(c0 + l) * oh * ow] = Float(a &+ bias[c0 + l]) * mult[c0 + l]
                            }
                        } else {
                            let y = output.assumingMemoryBound(to: UInt8.self) + pixel * c + c0
                            storeRequantized16(acc0, acc1, bias + c0, mult + c0, rq, y, count: min(16, c - c0))
                        }
                        c0 += 16
                    }
                }
            }
        }
    }
    }
    }
}

/// acc += (x[0..<16] − zx) · w[0..<16]. Reads 16 bytes even when fewer channels are valid
/// (the arena leaves slack after byte values; the extra lanes' weights are zero).
@inline(__always)
func accumulate16(_ x: UnsafePointer<UInt8>, _ w: UnsafePointer<Int32>, _ zx: Int32,
                  _ acc0: inout SIMD8<Int32>, _ acc1: inout SIMD8<Int32>, isa: KernelISA, valid: Int) {
    #if arch(x86_64)
    if isa == .avx2 {
        // x − zx fits s16; its high half meets the weight's zero high half in vpmaddwd.
        let z = _mm256_set1_epi32(zx)
        let v0 = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64(UnsafeRawPointer(x).assumingMemoryBound(to: __m128i.self))), z)
        let v1 = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64(UnsafeRawPointer(x + 8).assumingMemoryBound(to: __m128i.self))), z)
        let p0 = _mm256_madd_epi16(v0, _mm256_loadu_si256(UnsafeRawPointer(w).assumingMemoryBound(to: __m256i.self)))
        let p1 = _mm256_madd_epi16(v1, _mm256_loadu_si256(UnsafeRawPointer(w + 8).assumingMemoryBound(to: __m256i.self)))
        acc0 = unsafeBitCast(_mm256_add_epi32(unsafeBitCast(acc0, to: __m256i.self), p0), to: SIMD8<Int32>.self)
        acc1 = unsafeBitCast(_mm256_add_epi32(unsafeBitCast(acc1, to: __m256i.self), p1), to: SIMD8<Int32>.self)
        return
    }
    #endif
    for l in 0..<valid {
        let v = (Int32(x[l]) - zx) * Int32(Int16(truncatingIfNeeded: w[l]))
        if l < 8 { acc0[l] &+= v } else { acc1[l - 8] &+= v }
    }
}

/// The shared u8 epilogue on 16 lanes: clamp(round_half_even((acc + bias) · mult) + zp).
@inline(__always)
func storeRequantized16(_ acc0: SIMD8<Int32>, _ acc1: SIMD8<Int32>, _ bias: UnsafePointer<Int32>, _ mult: UnsafePointer<Float>,
                        _ rq: QRequantization, _ y: UnsafeMutablePointer<UInt8>, count: Int) {
    let zp = SIMD8<Int32>(repeating: rq.zeroPoint), lo = SIMD8<Int32>(repeating: rq.low), hi = SIMD8<Int32>(repeating: rq.high)
    let b0 = UnsafeRawPointer(bias).loadUnaligned(as: SIMD8<Int32>.self), b1 = UnsafeRawPointer(bias + 8).loadUnaligned(as: SIMD8<Int32>.self)
    let m0 = UnsafeRawPointer(mult).loadUnaligned(as: SIMD8<Float>.self), m1 = UnsafeRawPointer(mult + 8).loadUnaligned(as: SIMD8<Float>.self)
    let q0 = clamp(roundToInt32(toFloat(acc0 &+ b0) * m0) &+ zp, lo, hi)
    let q1 = clamp(roundToInt32(toFloat(acc1 &+ b1) * m1) &+ zp, lo, hi)
    if count == 16 {
        storeCodes16(q0, q1, y)
    } else {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { t in
            guard let tp = t.baseAddress else { return }
            storeCodes16(q0, q1, tp)
            for l in 0..<count { y[l] = tp[l] }
        }
    }
}
