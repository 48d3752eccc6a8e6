/// Lane arithmetic for the SIMD kernels that are written once for both ISA paths: the
/// portable path multiplies then adds; the AVX2 path fuses (one `vfmadd` per tap).
protocol LaneMath {
    static func multiplyAdd(_ acc: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float>
}

enum PortableLanes: LaneMath {
    @inline(__always)
    static func multiplyAdd(_ acc: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        acc + a * b
    }
}

enum FusedLanes: LaneMath {
    @inline(__always)
    static func multiplyAdd(_ acc: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        acc.addingProduct(a, b)
    }
}

#if arch(x86_64)
import SegKernelsVNNI
#endif

extension Conv2D {
    /// Depthwise (one filter per channel) direct convolution. Each (image, channel) plane is
    /// copied into a zero-bordered scratch plane so the inner loop has no bounds checks, and
    /// each scratch row is split into `stride` phases (phase q holds padded columns q, q+s,
    /// q+2s, …) so that for any stride the 8 inputs of 8 neighbouring outputs are contiguous.
    /// Output rows are computed 8 lanes at a time, 4 vectors in flight to hide FMA latency;
    /// phases are wide enough that the last, partial vector reads zeros.
    func runDepthwise(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                      residual: UnsafePointer<Float>?, residualBeforeActivation: Bool, context: KernelContext) {
        if context.isa == .avx2 {
            // One specialisation per activation: the switch runs once per call.
            let (i, o, r, before) = (input, output, residual, residualBeforeActivation)
            switch activation {
            case .none: depthwise(FusedLanes.self, IdentityVectorActivation(), i, batch, o, r, before, context)
            case .relu: depthwise(FusedLanes.self, ReluVectorActivation(), i, batch, o, r, before, context)
            case let .clip(low, high):
                depthwise(FusedLanes.self, ClipVectorActivation(low: low, high: high), i, batch, o, r, before, context)
            case .hardSwish: depthwise(FusedLanes.self, HardSwishVectorActivation(), i, batch, o, r, before, context)
            case let .hardSigmoid(alpha, beta):
                depthwise(FusedLanes.self, HardSigmoidVectorActivation(alpha: alpha, beta: beta), i, batch, o, r, before, context)
            case .sigmoid: depthwise(FusedLanes.self, AnyVectorActivation(activation: activation), i, batch, o, r, before, context)
            }
        } else {
            depthwise(PortableLanes.self, AnyVectorActivation(activation: activation), input, batch, output, residual,
                      residualBeforeActivation, context)
        }
    }

    private func depthwise<L: LaneMath, A: VectorActivation>(_: L.Type, _ activation: A, _ input: UnsafePointer<Float>, _ batch: Int,
                                        _ output: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                                        _ residualBeforeActivation: Bool, _ context: KernelContext) {
        let s = shape
        if s.strideH == 2 && s.strideW == 2 && s.dilationH == 1 && s.dilationW == 1 && s.kernelH <= 7 {
            return depthwiseStride2(L.self, activation, input, batch, output, residual, residualBeforeActivation, context)
        }
        let outH = outputHeight, outW = outputWidth
        let vectors = (outW + 7) / 8
        // A partial last vector is recomputed as the row's last full 8 outputs, unless the
        // row is narrower than 8 or the residual is the output itself (the overlap would
        // re-read outputs already written as residual).
        let overlapTail = outW >= 8 && outW % 8 != 0 && residual != UnsafePointer(output)
        let sw = s.strideW
        let scratchH = (outH - 1) * s.strideH + (s.kernelH - 1) * s.dilationH + 1
        let phaseW = vectors * 8 + (s.kernelW - 1) * s.dilationW / sw + 8
        let rowStride = sw * phaseW
        let taps = s.kernelH * s.kernelW
        let planes = batch * s.inputChannels
        #if arch(x86_64)
        let zmm = sixteenLaneEpilogue(L.self, residualBeforeActivation, context)
        #endif
        depthwiseWeights.withUnsafeBufferPointer { weights in
        bias.withUnsafeBufferPointerOrNil { bias in
        context.pool.parallelFor(planes) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchH * rowStride + taps * 2) { buffer in
                let padded = buffer.baseAddress!
                let tapOffsets = UnsafeMutableRawPointer(padded + scratchH * rowStride).bindMemory(to: Int.self, capacity: taps)
                for t in 0..<taps {
                    let column = (t % s.kernelW) * s.dilationW
                    tapOffsets[t] = (t / s.kernelW) * s.dilationH * rowStride + (column % sw) * phaseW + column / sw
                }
                // Borders are zeroed once: every plane rewrites the same interior.
                padded.initialize(repeating: 0, count: scratchH * rowStride)
                let rowsCopied = min(s.height, scratchH - s.pads.top)
                let columnsCopied = min(s.width, sw * phaseW - s.pads.left)
                for plane in range {
                    let channel = plane % s.inputChannels
                    let source = input + plane * s.height * s.width
                    for y in 0..<rowsCopied {
                        let row = padded + (y + s.pads.top) * rowStride, src = source + y * s.width
                        if sw == 1 {
                            // Vector copy with an overlapping last vector: rows are short
                            // (30, 60 floats), and memmove's call cost showed in profiles.
                            let dst = row + s.pads.left
                            if columnsCopied >= 8 {
                                var x = 0
                                while x + 8 <= columnsCopied { store8(load8(src + x), dst + x); x += 8 }
                                if x < columnsCopied { store8(load8(src + columnsCopied - 8), dst + columnsCopied - 8) }
                            } else {
                                for x in 0..<columnsCopied { dst[x] = src[x] }
                            }
                        } else if sw == 2 {
                            // 16 inputs → 8 even-phase + 8 odd-phase slots per step, by shuffles
                            // (lane extracts into a new SIMD8 cost 1.47 vs 1.01 ms on a 64-channel
                            // 180×240 plane set).
                            var x = 0
                            if s.pads.left % 2 == 1 && columnsCopied > 0 {
                                row[s.pads.left / 2 + phaseW] = src[0]  // padded column pads.left is odd
                                x = 1
                            }
                            while x + 16 <= columnsCopied {
                                let pair = SIMD16<Float>(lowHalf: load8(src + x), highHalf: load8(src + x + 8))
                                let slot = row + (x + s.pads.left) / 2
                                store8(pair.evenHalf, slot)
                                store8(pair.oddHalf, slot + phaseW)
                                x += 16
                            }
                            while x < columnsCopied {
                                let padded = x + s.pads.left
                                row[(padded & 1) * phaseW + padded / 2] = src[x]
                                x += 1
                            }
                        } else {
                            // One pass per phase keeps divisions out of the copy loop.
                            for phase in 0..<sw {
                                var x = ((phase - s.pads.left) % sw + sw) % sw
                                var dst = row + phase * phaseW + (x + s.pads.left) / sw
                                while x < columnsCopied {
                                    dst.pointee = src[x]
                                    dst += 1
                                    x += sw
                                }
                            }
                        }
                    }
                    let w = weights.baseAddress! + channel * taps
                    let b = SIMD8<Float>(repeating: bias.map { $0[channel] } ?? 0)
                    let out = output + plane * outH * outW
                    let res = residual.map { $0 + plane * outH * outW }
                    #if arch(x86_64)
                    if let zmm {
                        // Every row of the plane in one call: it runs several rows at once where
                        // rows are narrow (independent sums to hide the FMA latency).
                        depthwiseRowsAVX512(padded, rowStep: s.strideH * rowStride, count: outH, tapOffsets, taps, w,
                                            bias.map { $0[channel] } ?? 0, outW, out, outStep: outW, res, zmm)
                        continue
                    }
                    #endif
                    for oy in 0..<outH {
                        let rowBase = padded + oy * s.strideH * rowStride
                        let rowOut = out + oy * outW, rowRes = res.map { $0 + oy * outW }
                        // Groups of up to 4 vectors, 4 accumulators in flight (a short group
                        // repeats its last offset: extra FMAs instead of a latency-bound chain).
                        var v = 0
                        while v < vectors {
                            let n = min(4, vectors - v)
                            @inline(__always) func offset(_ i: Int) -> Int {
                                let x = (v + min(i, n - 1)) * 8
                                return overlapTail && x + 8 > outW ? outW - 8 : x
                            }
                            let x0 = offset(0), x1 = offset(1), x2 = offset(2), x3 = offset(3)
                            var a0 = b, a1 = b, a2 = b, a3 = b
                            for t in 0..<taps {
                                let wv = SIMD8<Float>(repeating: w[t])
                                let p = rowBase + tapOffsets[t]
                                a0 = L.multiplyAdd(a0, wv, load8(p + x0))
                                a1 = L.multiplyAdd(a1, wv, load8(p + x1))
                                a2 = L.multiplyAdd(a2, wv, load8(p + x2))
                                a3 = L.multiplyAdd(a3, wv, load8(p + x3))
                            }
                            if rowRes == nil && n == 4 && outW - x3 >= 8 {
                                // The common case, inline (the `finish` call was not inlined
                                // and cost a quarter of the kernel).
                                store8(activation(a0), rowOut + x0); store8(activation(a1), rowOut + x1)
                                store8(activation(a2), rowOut + x2); store8(activation(a3), rowOut + x3)
                                v += n
                                continue
                            }
                            depthwiseFinish(a0, rowOut + x0, rowRes.map { $0 + x0 }, count: min(8, outW - x0),
                                   activation, residualBeforeActivation)
                            if n > 1 {
                                depthwiseFinish(a1, rowOut + x1, rowRes.map { $0 + x1 }, count: min(8, outW - x1),
                                       activation, residualBeforeActivation)
                            }
                            if n > 2 {
                                depthwiseFinish(a2, rowOut + x2, rowRes.map { $0 + x2 }, count: min(8, outW - x2),
                                       activation, residualBeforeActivation)
                            }
                            if n > 3 {
                                depthwiseFinish(a3, rowOut + x3, rowRes.map { $0 + x3 }, count: min(8, outW - x3),
                                       activation, residualBeforeActivation)
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

#if arch(x86_64)
extension Conv2D {
    /// The epilogue for depthwise rows sixteen lanes at a time, where the CPU has AVX-512 and
    /// the activation is one its code has (on a core with two 512-bit FMA ports, half the
    /// instructions per output); nil: the 8-lane rows.
    func sixteenLaneEpilogue<L: LaneMath>(_: L.Type, _ residualBeforeActivation: Bool, _ context: KernelContext) -> PointwiseAVX512Epilogue? {
        guard L.self == FusedLanes.self && KernelISA.hasVNNI && context.options.depthwiseAVX512 else { return nil }
        return PointwiseAVX512Epilogue(activation, bias: nil, residual: nil, residualStride: 0, residualBefore: residualBeforeActivation)
    }
}
#endif

/// Residual, activation and store of `count` ≤ 8 outputs.
@inline(__always)
func depthwiseFinish<A: VectorActivation>(_ acc: SIMD8<Float>, _ out: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                                          count: Int, _ activation: A, _ residualBeforeActivation: Bool) {
    var v = acc
    if count == 8 {
        if let residual, residualBeforeActivation { v += load8(residual) }
        v = activation(v)
        if let residual, !residualBeforeActivation { v += load8(residual) }
        store8(v, out)
        return
    }
    var r = SIMD8<Float>()
    if let residual { for i in 0..<count { r[i] = residual[i] } }
    if residualBeforeActivation { v += r }
    v = activation(v)
    if !residualBeforeActivation { v += r }
    for i in 0..<count { out[i] = v[i] }
}
