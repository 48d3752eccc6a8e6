#if arch(x86_64)
import SegKernelsVNNI
#endif

/// The zero-padded even and odd input columns of one image, for stride-2 convs on the AVX-512
/// kernel. Along an output row of a conv with stride 2 along W, tap (c, ky, kx) reads padded
/// input columns 2·ox + kx·dW: every other column, which no in-place read can vectorise. Split
/// into a plane of even and a plane of odd padded columns, the same tap reads consecutive floats
/// of one plane (column ox + ⌊kx·dW / 2⌋ of parity kx·dW mod 2), and with the padding written
/// as zeros every output pixel, border included, reads in place through one offset table.
///
/// Layout: plane (c, parity) at (2c + parity)·`planeFloats`, `rows` padded rows of `columns`
/// floats; padded row r holds input row r − padTop, plane column q padded column 2q + parity.
struct ParityPlanes: Sendable {
    let rows: Int
    let columns: Int
    /// Per depth row d = (c, ky, kx) in the weights' order: its first float for output pixel
    /// (oy, 0), counted from padded row oy·strideH, column 0 of plane 0.
    let offsets: [Int]

    var planeFloats: Int { rows * columns }
    var floats: Int { 2 * channels * planeFloats }
    let channels: Int

    init(shape s: Conv2DShape) {
        channels = s.inputChannels
        rows = (s.outputHeight - 1) * s.strideH + (s.kernelH - 1) * s.dilationH + 1
        columns = s.outputWidth + (s.kernelW - 1) * s.dilationW / 2
        let taps = s.kernelH * s.kernelW
        let (rows, columns) = (rows, columns)
        offsets = (0..<(s.inputChannels * taps)).map { d in
            let c = d / taps, ky = d % taps / s.kernelW, kx = d % s.kernelW
            let u = kx * s.dilationW
            return (2 * c + u % 2) * rows * columns + ky * s.dilationH * columns + u / 2
        }
    }

    /// Writes image `x` ([Cin, H, W]) into `planes` (`floats` floats), rows `range` of the
    /// 2·Cin·`rows` plane rows.
    func fill(_ x: UnsafePointer<Float>, shape s: Conv2DShape, rows range: Range<Int>, into planes: UnsafeMutablePointer<Float>) {
        for planeRow in range {
            let plane = planeRow / rows, r = planeRow % rows
            let c = plane / 2, parity = plane % 2
            let dst = planes + planeRow * columns
            let iy = r - s.pads.top
            guard iy >= 0 && iy < s.height else {
                dst.initialize(repeating: 0, count: columns)
                continue
            }
            let src = x + (c * s.height + iy) * s.width
            // Plane column q reads input column 2q + parity − padLeft where that is inside.
            let first = max(0, min(columns, (s.pads.left - parity + 1) / 2))
            let end = max(first, min(columns, (s.width - parity + s.pads.left + 1) / 2))
            if first > 0 { dst.initialize(repeating: 0, count: first) }
            let offset = parity - s.pads.left
            for q in first..<end { dst[q] = src[2 * q + offset] }
            if end < columns { (dst + end).initialize(repeating: 0, count: columns - end) }
        }
    }
}

extension Conv2D {
    /// Whether a conv the AVX-512 kernel takes reads parity planes: stride 2 along W, one group,
    /// a kernel wider than 1×1, at least 32 output columns (one kernel step), and at most
    /// `directAVX512MaxInputRows` input rows (2 parities × channels × kernel rows) per step, the
    /// limit the stride-1 in-place path measured.
    static func usesParityPlanes(_ s: Conv2DShape, options: KernelOptions) -> Bool {
        options.directConv && s.strideW == 2 && s.groups == 1 && s.kernelH * s.kernelW > 1 && s.outputWidth >= 32
            && 2 * s.inputChannels * s.kernelH <= directAVX512MaxInputRows
    }

    /// Stride-2 convs with few input channels and outputs (the ResNet 3→64 7×7/2 stem, the
    /// MobileNet 3→16 3×3/2 one): per image, the parity planes first (one copy of the input,
    /// where im2col copied each value kH·kW/4 times: 147 floats per output pixel of the 7×7
    /// stem), then every output row swept in place through the offset table, eight output
    /// channels × 32 pixels per kernel step.
    func runParityAVX512(_ planes: ParityPlanes, input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                         residual: UnsafePointer<Float>?, beta: Float, residualBeforeActivation: Bool, context: KernelContext) {
        #if arch(x86_64)
        let s = shape, m = s.outputChannels, outH = outputHeight, outW = outputWidth
        let inPlane = s.height * s.width, outPlane = outH * outW
        let planeRows = 2 * s.inputChannels * planes.rows
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: planes.floats)
        defer { scratch.deallocate() }
        avx512Weights.withUnsafeBufferPointer { wb in
        planes.offsets.withUnsafeBufferPointer { ob in
            bias.withUnsafeBufferPointerOrNil { biasPointer in
                guard let w = wb.baseAddress, let offsets = ob.baseAddress,
                      let sweep = AVX512ChannelSweep(conv: self, weights: w, bias: biasPointer, outPlane: outPlane,
                                                     residualBefore: residualBeforeActivation, accumulate: beta == 1) else { return }
                for image in 0..<batch {
                    let x = input + image * s.inputChannels * inPlane
                    context.pool.parallelFor(planeRows) { rows in planes.fill(x, shape: s, rows: rows, into: scratch) }
                    context.pool.parallelFor(outH) { rows in
                        for oy in rows {
                            let out = output + image * m * outPlane + oy * outW
                            sweep.run(channels: 0..<m, columns: outW, source: scratch + oy * s.strideH * planes.columns, xStride: 0,
                                      layout: .planes, offsets: offsets, output: out,
                                      residual: residual.map { $0 + image * m * outPlane + oy * outW })
                        }
                    }
                }
            }
        }
        }
        #endif
    }
}
