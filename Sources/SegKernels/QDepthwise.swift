#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Depthwise s8 weights, channels padded to a multiple of 16 with zeros, in two layouts:
/// - `values` [tap][channel]: 32-bit lanes holding the weight as s16 in the low half and 0 in
///   the high half (so `vpmaddwd` is an exact 32-bit product) — one tap at a time.
/// - `pairs` / `singles` [tap][channel]: s16 pairs (w[t][c], w[t+1][c]) (0 when t+1 leaves
///   the kernel row) and (w[t][c], 0), each 16-channel block in the order `vpunpck{l,h}wd`
///   leaves channels (0–3, 8–11, then 4–7, 12–15) — two taps per `vpmaddwd`.
struct QDepthwiseWeights: Sendable {
    let channels: Int, taps: Int, padded: Int
    let values: [Int32]
    let pairs: [Int16], singles: [Int16]
    /// Lane i of a pair block holds channel laneChannel[i] of the block.
    static let laneChannel = [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15]

    init(weights: [Int8], channels: Int, kernelH: Int, kernelW: Int) {
        let taps = kernelH * kernelW
        self.channels = channels
        self.taps = taps
        padded = (channels + 15) / 16 * 16
        var v = [Int32](repeating: 0, count: taps * padded)
        var p = [Int16](repeating: 0, count: taps * padded * 2), q = p
        for t in 0..<taps {
            let second = (t % kernelW) + 1 < kernelW ? t + 1 : -1
            for c in 0..<channels { v[t * padded + c] = Int32(UInt16(bitPattern: Int16(weights[c * taps + t]))) }
            for block in stride(from: 0, to: padded, by: 16) {
                for (lane, offset) in Self.laneChannel.enumerated() where block + offset < channels {
                    let c = block + offset, at = (t * padded + block + lane) * 2
                    p[at] = Int16(weights[c * taps + t]); q[at] = p[at]
                    p[at + 1] = second >= 0 ? Int16(weights[c * taps + second]) : 0
                }
            }
        }
        values = v; pairs = p; singles = q
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
        let codes = QCodeRange(rqp)
        let isa = context.isa
        // Bias and multipliers in the lane order of the paired AVX2 accumulators.
        let lanes = QDepthwiseWeights.laneChannel
        let permutedBias = (0..<weights.padded).map { bias[$0 / 16 * 16 + lanes[$0 % 16]] }
        let permutedMult = (0..<weights.padded).map { mult[$0 / 16 * 16 + lanes[$0 % 16]] }
        weights.pairs.withUnsafeBufferPointer { pb in
        weights.singles.withUnsafeBufferPointer { sb in
        permutedBias.withUnsafeBufferPointer { pbias in
        permutedMult.withUnsafeBufferPointer { pmult in
        #if arch(x86_64)
        guard let p0 = pb.baseAddress, let s0 = sb.baseAddress, let b0 = pbias.baseAddress, let m0 = pmult.baseAddress else { return }
        let tables = PairedTables(pairs: p0, singles: s0, bias: b0, mult: m0)
        #endif
        #if arch(x86_64)
        if isa == .avx2 && !floatOutput {
            widenedDepthwise(s, weights, x: input, batch: batch, zeroPoint: zeroPoint, tables: tables, codes: codes,
                             output: output.assumingMemoryBound(to: UInt8.self), context: context)
            return
        }
        #endif
        context.pool.parallelFor(batch * oh) { range in
            for task in range {
                let image = task / oh, oy = task % oh
                let x = input + image * s.height * s.width * c
                let ky0 = max(0, (s.pads.top - oy * s.strideH + s.dilationH - 1) / s.dilationH)
                let ky1 = min(s.kernelH, (s.height + s.pads.top - oy * s.strideH + s.dilationH - 1) / s.dilationH)
                for ox in 0..<ow {
                    let kx0 = max(0, (s.pads.left - ox * s.strideW + s.dilationW - 1) / s.dilationW)
                    let kx1 = min(s.kernelW, (s.width + s.pads.left - ox * s.strideW + s.dilationW - 1) / s.dilationW)
                    let ix0 = ox * s.strideW - s.pads.left
                    let iy0 = oy * s.strideH - s.pads.top
                    let pixel = (image * oh + oy) * ow + ox
                    #if arch(x86_64)
                    if isa == .avx2 {
                        pairedPixel(s, weights, x: x, iy0: iy0, ix0: ix0, ky: ky0..<ky1, kx: kx0..<kx1, zeroPoint: zeroPoint,
                                    tables: tables, codes: codes, floatOutput: floatOutput,
                                    output: output, image: image, oy: oy, ox: ox, pixel: pixel)
                        continue
                    }
                    #endif
                    var c0 = 0
                    while c0 < c {
                        var acc0 = SIMD8<Int32>(), acc1 = SIMD8<Int32>()
                        let valid = min(16, c - c0)
                        for ky in ky0..<ky1 {
                            let row = x + ((iy0 + ky * s.dilationH) * s.width) * c + c0
                            let wRow = w + ky * s.kernelW * weights.padded + c0
                            for kx in kx0..<kx1 {
                                accumulate16(row + (ix0 + kx * s.dilationW) * c, wRow + kx * weights.padded, zeroPoint,
                                             &acc0, &acc1, isa: isa, valid: valid)
                            }
                        }
                        if floatOutput {
                            let y = output.assumingMemoryBound(to: Float.self) + image * c * oh * ow + oy * ow + ox
                            for l in 0..<valid {
                                let a = l < 8 ? acc0[l] : acc1[l - 8]
                                y[(c0 + l) * oh * ow] = Float(a &+ bias[c0 + l]) * mult[c0 + l]
                            }
                        } else {
                            storeRequantized16(acc0, acc1, bias + c0, mult + c0, codes, output.assumingMemoryBound(to: UInt8.self) + pixel * c + c0,
                                               count: valid)
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
    }
    }
    }
}

#if arch(x86_64)
/// One output pixel, all channels, two taps of a kernel row per `vpmaddwd` (an odd tap alone
/// with a zero partner weight); accumulators and bias/multipliers in the paired lane order.
@inline(__always)
private func pairedPixel(_ s: Conv2DShape, _ weights: QDepthwiseWeights, x: UnsafePointer<UInt8>, iy0: Int, ix0: Int,
                         ky: Range<Int>, kx columns: Range<Int>, zeroPoint: Int32, tables: PairedTables, codes: QCodeRange,
                         floatOutput: Bool, output: UnsafeMutableRawPointer, image: Int, oy: Int, ox: Int, pixel: Int) {
    let c = s.inputChannels, padded = weights.padded
    let zx = _mm256_set1_epi16(Int16(truncatingIfNeeded: zeroPoint))
    let pairs = tables.pairs, singles = tables.singles, biasBase = tables.bias, multBase = tables.mult
    do {
        var c0 = 0
        while c0 < c {
            var lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256()
            for ky in ky {
                let row = x + (iy0 + ky * s.dilationH) * s.width * c + c0
                let tap0 = ky * s.kernelW
                var kx = columns.lowerBound
                while kx < columns.upperBound {
                    let first = row + (ix0 + kx * s.dilationW) * c
                    let paired = kx + 1 < columns.upperBound
                    let second = paired ? first + s.dilationW * c : first
                    let w = (paired ? pairs : singles) + ((tap0 + kx) * padded + c0) * 2
                    let a = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(UnsafeRawPointer(first).assumingMemoryBound(to: __m128i.self))), zx)
                    let b = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(UnsafeRawPointer(second).assumingMemoryBound(to: __m128i.self))), zx)
                    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b),
                                                                 _mm256_loadu_si256(UnsafeRawPointer(w).assumingMemoryBound(to: __m256i.self))))
                    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b),
                                                                 _mm256_loadu_si256(UnsafeRawPointer(w + 16).assumingMemoryBound(to: __m256i.self))))
                    kx += paired ? 2 : 1
                }
            }
            let accLo = unsafeBitCast(lo, to: SIMD8<Int32>.self), accHi = unsafeBitCast(hi, to: SIMD8<Int32>.self)
            let valid = min(16, c - c0)
            if floatOutput {
                let oh = s.outputHeight, ow = s.outputWidth
                let y = output.assumingMemoryBound(to: Float.self) + image * c * oh * ow + oy * ow + ox
                for l in 0..<16 {
                    let ch = QDepthwiseWeights.laneChannel[l]
                    guard ch < valid else { continue }
                    let a = l < 8 ? accLo[l] : accHi[l - 8]
                    y[(c0 + ch) * oh * ow] = Float(a &+ biasBase[c0 + l]) * multBase[c0 + l]
                }
            } else {
                let b0 = UnsafeRawPointer(biasBase + c0).loadUnaligned(as: SIMD8<Int32>.self)
                let b1 = UnsafeRawPointer(biasBase + c0 + 8).loadUnaligned(as: SIMD8<Int32>.self)
                let m0 = UnsafeRawPointer(multBase + c0).loadUnaligned(as: SIMD8<Float>.self)
                let m1 = UnsafeRawPointer(multBase + c0 + 8).loadUnaligned(as: SIMD8<Float>.self)
                let q0 = codes.codes(accLo &+ b0, m0)
                let q1 = codes.codes(accHi &+ b1, m1)
                let y = output.assumingMemoryBound(to: UInt8.self) + pixel * c + c0
                if valid == 16 {
                    storeCodes16(q0, q1, y, paired: true)
                } else {
                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { t in
                        guard let tp = t.baseAddress else { return }
                        storeCodes16(q0, q1, tp, paired: true)
                        for l in 0..<valid { y[l] = tp[l] }
                    }
                }
            }
            c0 += 16
        }
    }
}

/// Pointers to the paired layout's weights and permuted bias/multipliers for one call.
struct PairedTables: @unchecked Sendable {
    let pairs: UnsafePointer<Int16>, singles: UnsafePointer<Int16>
    let bias: UnsafePointer<Int32>, mult: UnsafePointer<Float>
}
#endif

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

/// Output zero point and code range as vectors (no arrays: passing it costs no reference
/// counting), and the fused float activation when there is one.
struct QCodeRange {
    let zeroPoint: SIMD8<Int32>, low: SIMD8<Int32>, high: SIMD8<Int32>
    let activation: Activation
    let activated: Bool
    /// With an activation: 1 / output scale, and low/high − zero point as floats.
    let inverseOutputScale: SIMD8<Float>, floatLow: SIMD8<Float>, floatHigh: SIMD8<Float>
    init(_ rq: QRequantization) {
        zeroPoint = SIMD8(repeating: rq.zeroPoint); low = SIMD8(repeating: rq.low); high = SIMD8(repeating: rq.high)
        activation = rq.activation
        activated = rq.isActivated
        inverseOutputScale = SIMD8(repeating: rq.inverseOutputScale)
        floatLow = SIMD8(repeating: Float(rq.low &- rq.zeroPoint)); floatHigh = SIMD8(repeating: Float(rq.high &- rq.zeroPoint))
    }

    /// Eight output codes from sums that include the bias: clamp(round_half_even(acc · mult) + zp)
    /// or, with an activation, QuantizeLinear(act(acc · mult)) — bit for bit
    /// `QRequantization.requantizeScaled`.
    @inline(__always)
    func codes(_ accWithBias: SIMD8<Int32>, _ mult: SIMD8<Float>) -> SIMD8<Int32> {
        if !activated { return clamp(roundToInt32(toFloat(accWithBias) * mult) &+ zeroPoint, low, high) }
        return codes(accWithBias, mult, AnyVectorActivation(activation: activation))
    }

    /// `codes` with the activation as a type (no switch per vector).
    @inline(__always)
    func codes<A: VectorActivation>(_ accWithBias: SIMD8<Int32>, _ mult: SIMD8<Float>, _ act: A) -> SIMD8<Int32> {
        let y = act(toFloat(accWithBias) * mult)
        let s = y * inverseOutputScale
        #if arch(x86_64)
        let c = unsafeBitCast(_mm256_min_ps(_mm256_max_ps(unsafeBitCast(s, to: __m256.self), unsafeBitCast(floatLow, to: __m256.self)),
                                            unsafeBitCast(floatHigh, to: __m256.self)), to: SIMD8<Float>.self)
        #else
        let c = s.replacing(with: floatLow, where: s .< floatLow).replacing(with: floatHigh, where: s .> floatHigh)
        #endif
        return roundToInt32(c) &+ zeroPoint
    }
}

/// The shared u8 epilogue on 16 lanes: clamp(round_half_even((acc + bias) · mult) + zp).
@inline(__always)
func storeRequantized16(_ acc0: SIMD8<Int32>, _ acc1: SIMD8<Int32>, _ bias: UnsafePointer<Int32>, _ mult: UnsafePointer<Float>,
                        _ rq: QCodeRange, _ y: UnsafeMutablePointer<UInt8>, count: Int) {
    let b0 = UnsafeRawPointer(bias).loadUnaligned(as: SIMD8<Int32>.self), b1 = UnsafeRawPointer(bias + 8).loadUnaligned(as: SIMD8<Int32>.self)
    let m0 = UnsafeRawPointer(mult).loadUnaligned(as: SIMD8<Float>.self), m1 = UnsafeRawPointer(mult + 8).loadUnaligned(as: SIMD8<Float>.self)
    let q0 = rq.codes(acc0 &+ b0, m0)
    let q1 = rq.codes(acc1 &+ b1, m1)
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
