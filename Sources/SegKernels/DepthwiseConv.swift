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

extension Conv2D {
    /// Depthwise (one filter per channel) direct convolution. Each (image, channel) plane is
    /// copied into a zero-bordered scratch plane so the inner loop has no bounds checks:
    /// scratch row r, column q hold input (r − padTop, q − padLeft). Output rows are computed
    /// 8 lanes at a time (4 vectors in flight to hide FMA latency); stride 2 loads 16 lanes
    /// and keeps the even ones. The scratch is wide enough that the last, partial vector
    /// reads zeros instead of running off the row.
    func runDepthwise(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                      residual: UnsafePointer<Float>?, residualBeforeActivation: Bool, context: KernelContext) {
        if context.isa == .avx2 {
            depthwise(FusedLanes.self, input, batch, output, residual, residualBeforeActivation, context)
        } else {
            depthwise(PortableLanes.self, input, batch, output, residual, residualBeforeActivation, context)
        }
    }

    private func depthwise<L: LaneMath>(_: L.Type, _ input: UnsafePointer<Float>, _ batch: Int,
                                        _ output: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                                        _ residualBeforeActivation: Bool, _ context: KernelContext) {
        let s = shape
        let outH = outputHeight, outW = outputWidth
        let vectors = (outW + 7) / 8
        let scratchH = (outH - 1) * s.strideH + (s.kernelH - 1) * s.dilationH + 1
        let scratchW = vectors * 8 * s.strideW + (s.kernelW - 1) * s.dilationW + 16
        let taps = s.kernelH * s.kernelW
        let planes = batch * s.inputChannels
        let activation = self.activation
        depthwiseWeights.withUnsafeBufferPointer { weights in
        bias.withUnsafeBufferPointerOrNil { bias in
        context.pool.parallelFor(planes) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchH * scratchW + taps * 8) { buffer in
                let padded = buffer.baseAddress!
                let tapOffsets = UnsafeMutableRawPointer(padded + scratchH * scratchW).bindMemory(to: Int.self, capacity: taps)
                for t in 0..<taps {
                    tapOffsets[t] = (t / s.kernelW) * s.dilationH * scratchW + (t % s.kernelW) * s.dilationW
                }
                // Borders are zeroed once: every plane rewrites the same interior.
                padded.initialize(repeating: 0, count: scratchH * scratchW)
                let rowsCopied = min(s.height, scratchH - s.pads.top)
                let columnsCopied = min(s.width, scratchW - s.pads.left)
                for plane in range {
                    let channel = plane % s.inputChannels
                    let source = input + plane * s.height * s.width
                    for y in 0..<rowsCopied {
                        (padded + (y + s.pads.top) * scratchW + s.pads.left)
                            .update(from: source + y * s.width, count: columnsCopied)
                    }
                    let w = weights.baseAddress! + channel * taps
                    let b = bias.map { $0[channel] } ?? 0
                    let out = output + plane * outH * outW
                    let res = residual.map { $0 + plane * outH * outW }
                    for oy in 0..<outH {
                        let rowBase = padded + oy * s.strideH * scratchW
                        var v = 0
                        while v < vectors {
                            let block = min(4, vectors - v)
                            var acc = (SIMD8<Float>(repeating: b), SIMD8<Float>(repeating: b),
                                       SIMD8<Float>(repeating: b), SIMD8<Float>(repeating: b))
                            for t in 0..<taps {
                                let wv = SIMD8<Float>(repeating: w[t])
                                let p = rowBase + tapOffsets[t] + v * 8 * s.strideW
                                acc.0 = L.multiplyAdd(acc.0, wv, lanes(p, s.strideW))
                                if block > 1 { acc.1 = L.multiplyAdd(acc.1, wv, lanes(p + 8 * s.strideW, s.strideW)) }
                                if block > 2 { acc.2 = L.multiplyAdd(acc.2, wv, lanes(p + 16 * s.strideW, s.strideW)) }
                                if block > 3 { acc.3 = L.multiplyAdd(acc.3, wv, lanes(p + 24 * s.strideW, s.strideW)) }
                            }
                            for u in 0..<block {
                                let x0 = (v + u) * 8
                                let result = u == 0 ? acc.0 : u == 1 ? acc.1 : u == 2 ? acc.2 : acc.3
                                finish(result, out + oy * outW + x0, res.map { $0 + oy * outW + x0 },
                                       count: min(8, outW - x0), activation, residualBeforeActivation)
                            }
                            v += block
                        }
                    }
                }
            }
        }
        }
        }
    }
}

/// Eight outputs' inputs for one tap: contiguous for stride 1, every other float for
/// stride 2, gathered otherwise.
@inline(__always)
private func lanes(_ p: UnsafeMutablePointer<Float>, _ stride: Int) -> SIMD8<Float> {
    switch stride {
    case 1: return load8(p)
    case 2: return UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self).evenHalf
    default:
        var v = SIMD8<Float>()
        for i in 0..<8 { v[i] = p[i * stride] }
        return v
    }
}

/// Residual, activation and store of `count` ≤ 8 outputs.
@inline(__always)
private func finish(_ acc: SIMD8<Float>, _ out: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                    count: Int, _ activation: Activation, _ residualBeforeActivation: Bool) {
    var v = acc
    if count == 8 {
        if let residual, residualBeforeActivation { v += load8(residual) }
        v = activation.apply(v)
        if let residual, !residualBeforeActivation { v += load8(residual) }
        store8(v, out)
        return
    }
    var r = SIMD8<Float>()
    if let residual { for i in 0..<count { r[i] = residual[i] } }
    if residualBeforeActivation { v += r }
    v = activation.apply(v)
    if !residualBeforeActivation { v += r }
    for i in 0..<count { out[i] = v[i] }
}
