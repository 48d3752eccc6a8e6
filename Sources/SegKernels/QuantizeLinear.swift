/// Affine 8-bit quantization of one run of values that share a scale and zero point, with
/// ONNX QuantizeLinear / DequantizeLinear semantics (opset 10–21):
///   q = saturate(round_half_to_even(x / scale) + zeroPoint) into [0, 255] (u8) or [−128, 127] (s8)
///   x' = (q − zeroPoint) · scale
/// Division, not multiplication by 1/scale, so ties round exactly as the reference executor
/// does; the value is clamped before rounding, so NaN becomes the lowest code (as MLAS does).
package struct QuantParameters: Sendable, Equatable {
    package var scale: Float
    package var zeroPoint: Int32
    /// s8 codes (else u8).
    package var signed: Bool

    package init(scale: Float, zeroPoint: Int32, signed: Bool = false) {
        self.scale = scale
        self.zeroPoint = zeroPoint
        self.signed = signed
    }

    package var qmin: Int32 { signed ? -128 : 0 }
    package var qmax: Int32 { signed ? 127 : 255 }

    /// The exact scalar rule (tests and tails).
    @inline(__always)
    package func quantize(_ x: Float) -> Int32 {
        let v = x / scale
        let low = Float(qmin - zeroPoint), high = Float(qmax - zeroPoint)
        let c = v >= low ? (v <= high ? v : high) : low
        return Int32(c.rounded(.toNearestOrEven)) + zeroPoint
    }

    @inline(__always)
    package func dequantize(_ q: Int32) -> Float { Float(q &- zeroPoint) * scale }

}

/// How a run of `count` elements maps to parameters: one set for all, or per index along an
/// axis ([outer, axisLength, inner] view, parameters indexed by the middle coordinate).
package struct QuantLayout: Sendable, Equatable {
    package var outer: Int, axisLength: Int, inner: Int
    package init(outer: Int, axisLength: Int, inner: Int) {
        self.outer = outer; self.axisLength = axisLength; self.inner = inner
    }
    package static func perTensor(count: Int) -> QuantLayout { QuantLayout(outer: 1, axisLength: 1, inner: count) }
    var count: Int { outer * axisLength * inner }
}

/// What a quantize-family call does to each element.
package enum QuantOperation: Sendable {
    /// f32 → codes.
    case quantize
    /// codes → f32.
    case dequantize
    /// f32 → codes → f32 (a QuantizeLinear read only by a matching DequantizeLinear).
    case fakeQuantize
}

/// Runs `operation` over `layout.count` elements from `input` to `output` (raw pointers: f32
/// or byte codes per operation), one `QuantParameters` per axis index (`parameters.count ==
/// layout.axisLength`, or 1). Split over the pool in runs of a few thousand elements.
package func quantizeLinear(_ operation: QuantOperation, input: UnsafeRawPointer, output: UnsafeMutableRawPointer,
                           layout: QuantLayout, parameters: [QuantParameters], context: KernelContext = .shared) throws(KernelError) {
    try require(parameters.count == layout.axisLength || parameters.count == 1, "parameters", parameters.count,
                "must be 1 or the axis length \(layout.axisLength)")
    try require(layout.outer >= 0 && layout.axisLength >= 0 && layout.inner >= 0, "layout", "\(layout)", "must be non-negative")
    let rows = layout.outer * layout.axisLength
    // Rows are split when they are long; short rows are batched so each task has real work.
    let chunk = 16384
    let pieces = max(1, (layout.inner + chunk - 1) / chunk)
    parameters.withUnsafeBufferPointer { params in
        context.pool.parallelFor(rows * pieces) { range in
            for task in range {
                let row = task / pieces, piece = task % pieces
                let start = piece * chunk, end = min(layout.inner, start + chunk)
                let p = params[params.count == 1 ? 0 : row % layout.axisLength]
                let offset = row * layout.inner + start
                quantizeRun(operation, input, output, offset: offset, count: end - start, p)
            }
        }
    }
}

@inline(__always)
private func quantizeRun(_ operation: QuantOperation, _ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer,
                         offset: Int, count: Int, _ p: QuantParameters) {
    var i = 0
    switch operation {
    case .quantize:
        let x = input.assumingMemoryBound(to: Float.self) + offset
        let y = output.assumingMemoryBound(to: UInt8.self) + offset
        while i + 8 <= count { storeCodes(p.quantize8(load8(x + i)), y + i); i += 8 }
        while i < count { y[i] = UInt8(truncatingIfNeeded: p.quantize(x[i])); i += 1 }
    case .dequantize:
        let x = input.assumingMemoryBound(to: UInt8.self) + offset
        let y = output.assumingMemoryBound(to: Float.self) + offset
        let zp = SIMD8<Int32>(repeating: p.zeroPoint), s = SIMD8<Float>(repeating: p.scale)
        while i + 8 <= count { store8(toFloat(loadCodes(x + i, signed: p.signed) &- zp) * s, y + i); i += 8 }
        while i < count {
            let q = p.signed ? Int32(Int8(bitPattern: x[i])) : Int32(x[i])
            y[i] = p.dequantize(q); i += 1
        }
    case .fakeQuantize:
        let x = input.assumingMemoryBound(to: Float.self) + offset
        let y = output.assumingMemoryBound(to: Float.self) + offset
        let zp = SIMD8<Int32>(repeating: p.zeroPoint), s = SIMD8<Float>(repeating: p.scale)
        while i + 8 <= count { store8(toFloat(p.quantize8(load8(x + i)) &- zp) * s, y + i); i += 8 }
        while i < count { y[i] = p.dequantize(p.quantize(x[i])); i += 1 }
    }
}
