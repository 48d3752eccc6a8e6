#if arch(x86_64)
import SegKernelsVNNI
#endif

extension Conv2D {
    /// Depthwise convolution with stride 2 (dilation 1), from a few zero-padded input rows.
    ///
    /// Eight neighbouring outputs read every other input column, so 16 consecutive inputs
    /// loaded at once hold what two column taps need: their even lanes are tap kx's inputs and
    /// their odd lanes tap kx + 1's. The input rows an output row needs are copied, once each,
    /// into a ring of kernel-height + 1 padded rows (a few KB, in L1) that every vector reads
    /// in place; the general path instead copies each whole plane into a scratch split into
    /// even and odd columns (197 KB per 180×240 plane, read back from L2).
    func depthwiseStride2<L: LaneMath, A: VectorActivation>(_: L.Type, _ activation: A, _ input: UnsafePointer<Float>, _ batch: Int,
                                                          _ output: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                                                          _ residualBeforeActivation: Bool, _ context: KernelContext) {
        let s = shape
        let outH = outputHeight, outW = outputWidth
        let height = s.height, width = s.width, kH = s.kernelH, kW = s.kernelW
        let padTop = s.pads.top, padLeft = s.pads.left
        let vectors = (outW + 7) / 8
        // As in the general path: a partial last vector is recomputed as the row's last 8.
        let overlapTail = outW >= 8 && outW % 8 != 0 && residual != UnsafePointer(output)
        // A padded row: padLeft zeros, the row, then zeros as far as the last vector reads
        // (16 floats per pair of column taps from its first column, 2·x in padded columns).
        let reach = ((kW - 1) & ~1) + 16
        // (The 16-lane rows read 32 floats per pair of taps from 2·x, x a multiple of 16.)
        let reach16 = ((kW - 1) & ~1) + 32, vectors16 = (outW + 15) / 16
        let rowLength = max(2 * (vectors - 1) * 8 + reach, 2 * (vectors16 - 1) * 16 + reach16, padLeft + width)
        let ringRows = kH + 1
        let taps = kH * kW
        let planes = batch * s.inputChannels
        #if arch(x86_64)
        let zmm = sixteenLaneEpilogue(L.self, residualBeforeActivation, context)
        #endif
        depthwiseWeights.withUnsafeBufferPointer { weights in
        bias.withUnsafeBufferPointerOrNil { bias in
        context.pool.parallelFor(planes) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: ringRows * rowLength) { ringBuffer in
                let ring = ringBuffer.baseAddress!
                // Pads stay zero: copies only ever write columns padLeft..<padLeft + width.
                ring.initialize(repeating: 0, count: ringRows * rowLength)
                withUnsafeTemporaryAllocation(of: Int.self, capacity: ringRows) { heldBuffer in
                withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: kH) { slotBuffer in
                    let held = heldBuffer.baseAddress!   // the input row each slot holds (-1: none)
                    let slots = slotBuffer.baseAddress!  // per kernel row: its padded input row, nil for padding
                    for plane in range {
                        held.initialize(repeating: -1, count: ringRows)
                        let channel = plane % s.inputChannels
                        let source = input + plane * height * width
                        let w = weights.baseAddress! + channel * taps
                        let b = SIMD8<Float>(repeating: bias.map { $0[channel] } ?? 0)
                        let out = output + plane * outH * outW
                        let res = residual.map { $0 + plane * outH * outW }
                        for oy in 0..<outH {
                            let rowOut = out + oy * outW, rowRes = res.map { $0 + oy * outW }
                            // The padded copies of this output row's input rows (nil: padding).
                            for ky in 0..<kH {
                                let iy = oy * 2 - padTop + ky
                                guard iy >= 0 && iy < height else { slots[ky] = nil; continue }
                                let slot = iy % ringRows, padded = ring + slot * rowLength
                                if held[slot] != iy {
                                    let src = source + iy * width, dst = padded + padLeft
                                    var x = 0
                                    while x + 8 <= width { store8(load8(src + x), dst + x); x += 8 }
                                    while x < width { dst[x] = src[x]; x += 1 }
                                    held[slot] = iy
                                }
                                slots[ky] = UnsafePointer(padded)
                            }
                            #if arch(x86_64)
                            if let zmm {
                                depthwiseStride2RowAVX512(slots, kH, kW, w, bias.map { $0[channel] } ?? 0, outW, rowOut, rowRes, zmm)
                                continue
                            }
                            #endif
                            var v = 0
                            while v < vectors {
                                let n = min(4, vectors - v)
                                // A short group repeats its last vector: extra FMAs, no branches.
                                @inline(__always) func offset(_ i: Int) -> Int {
                                    let x = (v + min(i, n - 1)) * 8
                                    return overlapTail && x + 8 > outW ? outW - 8 : x
                                }
                                let x0 = offset(0), x1 = offset(1), x2 = offset(2), x3 = offset(3)
                                var a0 = b, a1 = b, a2 = b, a3 = b
                                for ky in 0..<kH {
                                    guard let row = slots[ky] else { continue }
                                    let p0 = row + 2 * x0, p1 = row + 2 * x1, p2 = row + 2 * x2, p3 = row + 2 * x3
                                    let wr = w + ky * kW
                                    var kx = 0
                                    while kx < kW {
                                        let l0 = load8(p0 + kx), h0 = load8(p0 + kx + 8)
                                        let l1 = load8(p1 + kx), h1 = load8(p1 + kx + 8)
                                        let l2 = load8(p2 + kx), h2 = load8(p2 + kx + 8)
                                        let l3 = load8(p3 + kx), h3 = load8(p3 + kx + 8)
                                        let we = SIMD8<Float>(repeating: wr[kx])
                                        a0 = L.multiplyAdd(a0, we, evenLanes(l0, h0))
                                        a1 = L.multiplyAdd(a1, we, evenLanes(l1, h1))
                                        a2 = L.multiplyAdd(a2, we, evenLanes(l2, h2))
                                        a3 = L.multiplyAdd(a3, we, evenLanes(l3, h3))
                                        if kx + 1 < kW {
                                            let wo = SIMD8<Float>(repeating: wr[kx + 1])
                                            a0 = L.multiplyAdd(a0, wo, oddLanes(l0, h0))
                                            a1 = L.multiplyAdd(a1, wo, oddLanes(l1, h1))
                                            a2 = L.multiplyAdd(a2, wo, oddLanes(l2, h2))
                                            a3 = L.multiplyAdd(a3, wo, oddLanes(l3, h3))
                                        }
                                        kx += 2
                                    }
                                }
                                a0 = outputOrder(a0); a1 = outputOrder(a1); a2 = outputOrder(a2); a3 = outputOrder(a3)
                                if rowRes == nil && n == 4 && outW - x3 >= 8 {
                                    store8(activation(a0), rowOut + x0); store8(activation(a1), rowOut + x1)
                                    store8(activation(a2), rowOut + x2); store8(activation(a3), rowOut + x3)
                                } else {
                                    @inline(__always) func finish(_ a: SIMD8<Float>, _ x: Int) {
                                        depthwiseFinish(a, rowOut + x, rowRes.map { $0 + x }, count: min(8, outW - x),
                                                        activation, residualBeforeActivation)
                                    }
                                    finish(a0, x0)
                                    if n > 1 { finish(a1, x1) }
                                    if n > 2 { finish(a2, x2) }
                                    if n > 3 { finish(a3, x3) }
                                }
                                v += n
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

// Every other float of 16 (`lo` then `hi`), in the order one in-lane shuffle gives (x86
// `shufps` within each 128-bit half): outputs 0, 1, 4, 5, 2, 3, 6, 7. Every tap's inputs come
// in that order, so the accumulators do too, and one `outputOrder` per vector puts them back,
// instead of a cross-lane permute per tap.
@inline(__always)
private func evenLanes(_ lo: SIMD8<Float>, _ hi: SIMD8<Float>) -> SIMD8<Float> {
    SIMD8(lo[0], lo[2], hi[0], hi[2], lo[4], lo[6], hi[4], hi[6])
}

@inline(__always)
private func oddLanes(_ lo: SIMD8<Float>, _ hi: SIMD8<Float>) -> SIMD8<Float> {
    SIMD8(lo[1], lo[3], hi[1], hi[3], lo[5], lo[7], hi[5], hi[7])
}

/// Lanes in the order 0, 1, 4, 5, 2, 3, 6, 7 back to 0...7 (the order is its own inverse).
@inline(__always)
private func outputOrder(_ v: SIMD8<Float>) -> SIMD8<Float> {
    SIMD8(v[0], v[1], v[4], v[5], v[2], v[3], v[6], v[7])
}
