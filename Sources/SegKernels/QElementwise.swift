#if arch(x86_64)
import SegKernelsVNNI
#endif
/// u8 elementwise kernels of the INT8 path. Each reproduces, per element, what the QDQ graph
/// computes in float between a DequantizeLinear and a QuantizeLinear — the same float
/// operations in the same order — so results equal the reference executor's.

/// out[i] = table[x[i]]: a unary op between DQ and Q is a function of the 256 input codes.
package func qLookup(_ table: [UInt8], input: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, count: Int,
                    context: KernelContext = .shared) throws(KernelError) {
    try require(table.count == 256, "table", table.count, "must have 256 entries")
    let chunk = 65536
    table.withUnsafeBufferPointer { t in
        guard let lut = t.baseAddress else { return }
        context.pool.parallelFor((max(count, 0) + chunk - 1) / chunk) { range in
            for i in (range.lowerBound * chunk)..<min(count, range.upperBound * chunk) { output[i] = lut[Int(input[i])] }
        }
    }
}

/// The table of `f` between DQ(input) and Q(output).
package func qLookupTable(input: QuantParameters, output: QuantParameters, _ f: (Float) -> Float) -> [UInt8] {
    (0..<256).map { code in
        let q = input.signed ? Int32(Int8(truncatingIfNeeded: code)) : Int32(code)
        return UInt8(truncatingIfNeeded: output.quantize(f(input.dequantize(q))))
    }
}

/// How the second operand of a u8 binary op lines up with the first, in NHWC.
package enum QBroadcast: Sendable, Equatable {
    /// Same shape.
    case none
    /// One value per (image, channel): b is [N, C] (the squeeze-excite gate, or a [1, C] scale).
    case channel(imagesInB: Int)
}

/// out = Q_out(DQ_a(a) ∘ DQ_b(b)) for u8 NHWC tensors [batch, pixels, channels].
package func qBinary(_ operation: BinaryOperation, a: UnsafePointer<UInt8>, aParameters pa: QuantParameters,
                    b: UnsafePointer<UInt8>, bParameters pb: QuantParameters, broadcast: QBroadcast,
                    output: UnsafeMutablePointer<UInt8>, outputParameters po: QuantParameters,
                    batch: Int, pixels: Int, channels: Int, context: KernelContext = .shared) throws(KernelError) {
    try require(batch >= 0 && pixels >= 0 && channels >= 0, "shape", "\(batch)×\(pixels)×\(channels)", "must be non-negative")
    let za = SIMD8<Int32>(repeating: pa.zeroPoint), zb = SIMD8<Int32>(repeating: pb.zeroPoint)
    let sa = SIMD8<Float>(repeating: pa.scale), sb = SIMD8<Float>(repeating: pb.scale)
    @inline(__always) func combine(_ x: SIMD8<Int32>, _ y: SIMD8<Int32>) -> SIMD8<Int32> {
        let u = toFloat(x &- za) * sa, v = toFloat(y &- zb) * sb
        return po.quantize8(operation == .add ? u + v : u * v)
    }
    @inline(__always) func scalar(_ x: UInt8, _ y: UInt8) -> UInt8 {
        let u = pa.dequantize(Int32(x)), v = pb.dequantize(Int32(y))
        return UInt8(truncatingIfNeeded: po.quantize(operation == .add ? u + v : u * v))
    }
    #if arch(x86_64)
    if context.isa == .avx2 && KernelISA.hasVNNI {
        let qa = QBinaryAVX512Parameters(scale: pa.scale, zeroPoint: pa.zeroPoint)
        let qb = QBinaryAVX512Parameters(scale: pb.scale, zeroPoint: pb.zeroPoint)
        let qo = QBinaryAVX512Parameters(scale: po.scale, zeroPoint: po.zeroPoint, qmin: po.qmin, qmax: po.qmax)
        switch broadcast {
        case .none:
            let total = batch * pixels * channels, chunk = 16384
            context.pool.parallelFor((total + chunk - 1) / chunk) { range in
                let start = range.lowerBound * chunk, end = min(total, range.upperBound * chunk)
                qBinaryRowAVX512(add: operation == .add, a + start, qa, b + start, qb, output + start, qo, end - start)
            }
        case let .channel(imagesInB):
            context.pool.parallelFor(batch * pixels) { range in
                for p in range {
                    let bRow = b + (imagesInB == 1 ? 0 : p / max(pixels, 1)) * channels
                    qBinaryRowAVX512(add: operation == .add, a + p * channels, qa, bRow, qb, output + p * channels, qo, channels)
                }
            }
        }
        return
    }
    #endif
    switch broadcast {
    case .none:
        let total = batch * pixels * channels, chunk = 16384
        context.pool.parallelFor((total + chunk - 1) / chunk) { range in
            var i = range.lowerBound * chunk
            let end = min(total, range.upperBound * chunk)
            while i + 8 <= end { storeCodes(combine(loadCodes(a + i, signed: false), loadCodes(b + i, signed: false)), output + i); i += 8 }
            while i < end { output[i] = scalar(a[i], b[i]); i += 1 }
        }
    case let .channel(imagesInB):
        context.pool.parallelFor(batch * pixels) { range in
            for p in range {
                let image = p / max(pixels, 1)
                let bRow = b + (imagesInB == 1 ? 0 : image) * channels
                let x = a + p * channels, y = output + p * channels
                var c = 0
                while c + 8 <= channels { storeCodes(combine(loadCodes(x + c, signed: false), loadCodes(bRow + c, signed: false)), y + c); c += 8 }
                // A ragged end is one more vector overlapping the last one (same values rewritten).
                if c < channels && channels >= 8 {
                    c = channels - 8
                    storeCodes(combine(loadCodes(x + c, signed: false), loadCodes(bRow + c, signed: false)), y + c)
                    c = channels
                }
                while c < channels { y[c] = scalar(x[c], bRow[c]); c += 1 }
            }
        }
    }
}

/// Global average pool of u8 NHWC [batch, pixels, channels] to u8 [batch, channels]:
/// Q_out(mean of DQ_in(x)), the mean taken over exact integer sums.
package func qGlobalAveragePool(input: UnsafePointer<UInt8>, inputParameters pi: QuantParameters, batch: Int, pixels: Int, channels: Int,
                               output: UnsafeMutablePointer<UInt8>, outputParameters po: QuantParameters,
                               context: KernelContext = .shared) throws(KernelError) {
    try require(pixels >= 1, "pixels", pixels, "must be ≥ 1")
    let blocks = (channels + 7) / 8
    context.pool.parallelFor(batch * blocks) { range in
        for task in range {
            let image = task / blocks, c0 = (task % blocks) * 8
            let width = min(8, channels - c0)
            var sum = SIMD8<Int32>()
            let x = input + image * pixels * channels + c0
            if width == 8 {
                for p in 0..<pixels { sum &+= loadCodes(x + p * channels, signed: false) }
            } else {
                for p in 0..<pixels { for l in 0..<width { sum[l] &+= Int32(x[p * channels + l]) } }
            }
            for l in 0..<width {
                let mean = Float(sum[l] &- Int32(pixels) &* pi.zeroPoint) * pi.scale / Float(pixels)
                output[image * channels + c0 + l] = UInt8(truncatingIfNeeded: po.quantize(mean))
            }
        }
    }
}

/// Bilinear/nearest resize of u8 NHWC [batch, inH, inW, C] to [batch, outH, outW, C]:
/// Q_out(blend of DQ_in values), coordinates as `resize`.
package func qResize(_ mode: ResizeMode, coordinates: ResizeCoordinates, input: UnsafePointer<UInt8>, inputParameters pi: QuantParameters,
                    batch: Int, channels: Int, inHeight: Int, inWidth: Int, output: UnsafeMutablePointer<UInt8>,
                    outputParameters po: QuantParameters, outHeight: Int, outWidth: Int, scales: (Float, Float)? = nil,
                    context: KernelContext = .shared) throws(KernelError) {
    for (name, value) in [("inHeight", inHeight), ("inWidth", inWidth), ("outHeight", outHeight), ("outWidth", outWidth)] {
        try require(value >= 1, name, value, "must be ≥ 1")
    }
    let scaleH = scales?.0 ?? Float(outHeight) / Float(inHeight)
    let scaleW = scales?.1 ?? Float(outWidth) / Float(inWidth)
    try require(scaleH > 0 && scaleW > 0, "scales", "\(scaleH), \(scaleW)", "must be > 0")
    let rows = resizeTaps(mode, coordinates, scale: scaleH, inLength: inHeight, outLength: outHeight)
    let columns = resizeTaps(mode, coordinates, scale: scaleW, inLength: inWidth, outLength: outWidth)
    let zp = SIMD8<Int32>(repeating: pi.zeroPoint), s = SIMD8<Float>(repeating: pi.scale)
    @inline(__always) func dq(_ p: UnsafePointer<UInt8>) -> SIMD8<Float> { toFloat(loadCodes(p, signed: false) &- zp) * s }
    context.pool.parallelFor(batch * outHeight) { range in
        for task in range {
            let image = task / outHeight, oy = task % outHeight
            let (r0, r1, wy) = rows[oy]
            let x = input + image * inHeight * inWidth * channels
            let top = x + r0 * inWidth * channels, bottom = x + r1 * inWidth * channels
            let y = output + (image * outHeight + oy) * outWidth * channels
            let wyv = SIMD8<Float>(repeating: wy)
            for ox in 0..<outWidth {
                let (c0, c1, wx) = columns[ox]
                let wxv = SIMD8<Float>(repeating: wx)
                var c = 0
                // Horizontal blend of both rows, then vertical: the float Resize's order.
                while c < channels && channels >= 8 {
                    // A ragged end is one more vector overlapping the last one.
                    if c + 8 > channels { c = channels - 8 }
                    let a = dq(top + c0 * channels + c), b = dq(top + c1 * channels + c)
                    let d = dq(bottom + c0 * channels + c), e = dq(bottom + c1 * channels + c)
                    let t = a + (b - a) * wxv, u = d + (e - d) * wxv
                    storeCodes(po.quantize8(t + (u - t) * wyv), y + ox * channels + c)
                    c += 8
                }
                while c < channels {
                    let a = pi.dequantize(Int32(top[c0 * channels + c])), b = pi.dequantize(Int32(top[c1 * channels + c]))
                    let d = pi.dequantize(Int32(bottom[c0 * channels + c])), e = pi.dequantize(Int32(bottom[c1 * channels + c]))
                    let t = a + (b - a) * wx, u = d + (e - d) * wx
                    y[ox * channels + c] = UInt8(truncatingIfNeeded: po.quantize(t + (u - t) * wy))
                    c += 1
                }
            }
        }
    }
}

// MARK: - Layout changes at the edges of the INT8 path

/// f32 NCHW [batch, channels, plane] → u8/s8 NHWC codes [batch, plane, channels].
package func quantizeToNHWC(input: UnsafePointer<Float>, parameters p: QuantParameters, batch: Int, channels: Int, plane: Int,
                           output: UnsafeMutablePointer<UInt8>, context: KernelContext = .shared) {
    let chunk = 256
    let pieces = (plane + chunk - 1) / chunk
    context.pool.parallelFor(batch * pieces) { range in
        for task in range {
            let image = task / pieces, p0 = (task % pieces) * chunk, p1 = min(plane, p0 + chunk)
            let x = input + image * channels * plane, y = output + image * channels * plane
            for c in 0..<channels {
                var i = p0
                while i + 8 <= p1 {
                    let q = p.quantize8(load8(x + c * plane + i))
                    for l in 0..<8 { y[(i + l) * channels + c] = UInt8(truncatingIfNeeded: q[l]) }
                    i += 8
                }
                while i < p1 { y[i * channels + c] = UInt8(truncatingIfNeeded: p.quantize(x[c * plane + i])); i += 1 }
            }
        }
    }
}

/// u8/s8 NHWC codes [batch, plane, channels] → f32 NCHW [batch, channels, plane].
package func dequantizeFromNHWC(input: UnsafePointer<UInt8>, parameters p: QuantParameters, batch: Int, channels: Int, plane: Int,
                               output: UnsafeMutablePointer<Float>, context: KernelContext = .shared) {
    let chunk = 256
    let pieces = (plane + chunk - 1) / chunk
    let zp = SIMD8<Int32>(repeating: p.zeroPoint), s = SIMD8<Float>(repeating: p.scale)
    context.pool.parallelFor(batch * pieces) { range in
        for task in range {
            let image = task / pieces, p0 = (task % pieces) * chunk, p1 = min(plane, p0 + chunk)
            let x = input + image * channels * plane, y = output + image * channels * plane
            for c in 0..<channels {
                var i = p0
                while i + 8 <= p1 {
                    var q = SIMD8<Int32>()
                    for l in 0..<8 {
                        let b = x[(i + l) * channels + c]
                        q[l] = p.signed ? Int32(Int8(bitPattern: b)) : Int32(b)
                    }
                    store8(toFloat(q &- zp) * s, y + c * plane + i)
                    i += 8
                }
                while i < p1 {
                    let b = x[i * channels + c]
                    y[c * plane + i] = p.dequantize(p.signed ? Int32(Int8(bitPattern: b)) : Int32(b))
                    i += 1
                }
            }
        }
    }
}
