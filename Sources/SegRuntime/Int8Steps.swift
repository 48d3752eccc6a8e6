import SegKernels
import SegTensor

// Steps of the INT8 path. Quantized values are u8 NHWC in the arena; `dims` are the ONNX
// (NCHW) dims of the value.

struct QConvStep: Step {
    let conv: QConv2D
    let input: Slot
    let output: Slot
    let batch: Int
    let context: KernelContext
    let kind: String
    var detail: String { "\(kind) \(conv.shape.summary)" }

    func execute(_ arena: Arena) throws {
        try conv.run(input: arena.bytes(input), batch: batch, output: UnsafeMutableRawPointer(arena.pointer(output)), context: context)
    }
}

struct QBinaryStep: Step {
    let operation: BinaryOperation
    let a: Slot, aParameters: QuantParameters
    let b: Slot, bParameters: QuantParameters
    let broadcast: QBroadcast
    let output: Slot, outputParameters: QuantParameters
    let dims: [Int]
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        try qBinary(operation, a: arena.bytes(a), aParameters: aParameters, b: arena.bytes(b), bParameters: bParameters,
                    broadcast: broadcast, output: arena.bytes(output), outputParameters: outputParameters,
                    batch: dims[0], pixels: dims[2] * dims[3], channels: dims[1], context: context)
    }
}

struct QPoolStep: Step {
    let input: Slot, inputParameters: QuantParameters
    let output: Slot, outputParameters: QuantParameters
    let dims: [Int]
    let context: KernelContext
    var kind: String { "QGlobalAveragePool" }

    func execute(_ arena: Arena) throws {
        try qGlobalAveragePool(input: arena.bytes(input), inputParameters: inputParameters, batch: dims[0], pixels: dims[2] * dims[3],
                               channels: dims[1], output: arena.bytes(output), outputParameters: outputParameters, context: context)
    }
}

struct QResizeStep: Step {
    let mode: ResizeMode
    let coordinates: ResizeCoordinates
    let scales: (Float, Float)?
    let input: Slot, inputParameters: QuantParameters
    let output: Slot, outputParameters: QuantParameters
    let inDims: [Int], outDims: [Int]
    let context: KernelContext
    var kind: String { "QResize" }

    func execute(_ arena: Arena) throws {
        try qResize(mode, coordinates: coordinates, input: arena.bytes(input), inputParameters: inputParameters, batch: inDims[0],
                    channels: inDims[1], inHeight: inDims[2], inWidth: inDims[3], output: arena.bytes(output),
                    outputParameters: outputParameters, outHeight: outDims[2], outWidth: outDims[3], scales: scales, context: context)
    }
}

struct QLookupStep: Step {
    let table: [UInt8]
    let input: Slot
    let output: Slot
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        try qLookup(table, input: arena.bytes(input), output: arena.bytes(output), count: output.count, context: context)
    }
}

/// Into (f32 NCHW → u8 NHWC) or out of (u8 NHWC → f32 NCHW) the INT8 path.
struct LayoutQuantStep: Step {
    let quantize: Bool
    let input: Slot
    let output: Slot
    let parameters: QuantParameters
    let dims: [Int]
    let context: KernelContext
    var kind: String { quantize ? "QuantizeLinear (to NHWC)" : "DequantizeLinear (from NHWC)" }

    func execute(_ arena: Arena) throws {
        if quantize {
            quantizeToNHWC(input: arena.pointer(input), parameters: parameters, batch: dims[0], channels: dims[1], plane: dims[2] * dims[3],
                           output: arena.bytes(output), context: context)
        } else {
            dequantizeFromNHWC(input: arena.bytes(input), parameters: parameters, batch: dims[0], channels: dims[1], plane: dims[2] * dims[3],
                               output: arena.pointer(output), context: context)
        }
    }
}

/// Channel concatenation of u8 NHWC values: per pixel, each input's channels in turn, copied
/// or (parameters differing from the output's) mapped through its requantizing table.
struct QConcatStep: Step {
    let inputs: [Slot]
    let channels: [Int]
    let tables: [[UInt8]?]
    let output: Slot
    let pixels: Int
    let context: KernelContext
    var kind: String { "QConcat" }
    var heldBytes: Int { tables.reduce(0) { $0 + ($1?.count ?? 0) } }

    func execute(_ arena: Arena) throws {
        let total = channels.reduce(0, +)
        nonisolated(unsafe) let sources = inputs.map { UnsafePointer(arena.bytes($0)) }
        nonisolated(unsafe) let destination = arena.bytes(output)
        let channels = self.channels, tables = self.tables
        // Pixels in chunks over the pool; each writes its own pixels' bytes.
        let chunk = 1024
        context.pool.parallelFor((pixels + chunk - 1) / chunk) { range in
            for (j, source) in sources.enumerated() {
                let c = channels[j]
                let offset = channels[..<j].reduce(0, +)
                for p in (range.lowerBound * chunk)..<min(pixels, range.upperBound * chunk) {
                    let src = source + p * c, dst = destination + p * total + offset
                    if let table = tables[j] {
                        for k in 0..<c { dst[k] = table[Int(src[k])] }
                    } else {
                        dst.update(from: src, count: c)
                    }
                }
            }
        }
    }
}

/// Max pooling of u8 NHWC codes (padding never wins, as in MaxPool), then the requantizing
/// table when the output's parameters differ. Output rows split over the pool.
struct QMaxPoolStep: Step {
    let shape: Pool2DShape
    let batch: Int
    let table: [UInt8]?
    let input: Slot
    let output: Slot
    let context: KernelContext
    var kind: String { "QMaxPool" }
    var heldBytes: Int { table?.count ?? 0 }

    func execute(_ arena: Arena) throws {
        let s = shape, c = s.channels, oh = s.outputHeight, ow = s.outputWidth
        nonisolated(unsafe) let src = UnsafePointer(arena.bytes(input)), dst = arena.bytes(output)
        let table = self.table
        context.pool.parallelFor(batch * oh) { rows in
            for row in rows {
                let n = row / oh, oy = row % oh
                let image = src + n * s.height * s.width * c
                let y0 = max(0, oy * s.strideH - s.pads.top), y1 = min(s.height, oy * s.strideH - s.pads.top + s.kernelH)
                for ox in 0..<ow {
                    let x0 = max(0, ox * s.strideW - s.pads.left), x1 = min(s.width, ox * s.strideW - s.pads.left + s.kernelW)
                    let out = dst + (row * ow + ox) * c
                    // The first tap is copied, the others folded in with a vector max, 16 channels
                    // at a time (a scalar tail for the rest).
                    out.update(from: image + (y0 * s.width + x0) * c, count: c)
                    for iy in y0..<y1 {
                        for ix in x0..<x1 where iy != y0 || ix != x0 {
                            let p = image + (iy * s.width + ix) * c
                            var k = 0
                            while k + 16 <= c {
                                let a = UnsafeRawPointer(out + k).loadUnaligned(as: SIMD16<UInt8>.self)
                                let v = UnsafeRawPointer(p + k).loadUnaligned(as: SIMD16<UInt8>.self)
                                UnsafeMutableRawPointer(out + k).storeBytes(of: pointwiseMax(a, v), as: SIMD16<UInt8>.self)
                                k += 16
                            }
                            while k < c { if p[k] > out[k] { out[k] = p[k] }; k += 1 }
                        }
                    }
                    if let table { for k in 0..<c { out[k] = table[Int(out[k])] } }
                }
            }
        }
    }
}
