#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// What a quantized convolution writes.
package enum QConvOutput: Sendable, Equatable {
    /// u8 NHWC codes: scale, zero point, and the code range a fused Relu/Clip leaves
    /// (`low`...`high` within 0...255).
    case u8(scale: Float, zeroPoint: Int32, low: Int32, high: Int32)
    /// f32 NCHW, dequantized (a float consumer follows).
    case f32
    /// u8 NHWC codes of a float activation of the dequantized conv output (a HardSwish,
    /// HardSigmoid or Sigmoid between the conv and its QuantizeLinear), computed in the epilogue.
    case u8Activated(scale: Float, zeroPoint: Int32, activation: Activation)
}

/// A convolution on u8 NHWC activations with s8 weights (per output channel scales), s32
/// accumulation and requantization in the epilogue; weights packed once at init.
/// y[n, oy, ox, o] = Σ_{ky,kx,c} (x[n, iy, ix, c] − zx) · w[o, c, ky, kx] + bias[o], then
/// requantized with multiplier xScale · wScale[o] / yScale (round half to even, saturate).
/// Algorithms: `.pointwise` (1×1, stride 1, no pads: a GEMM straight on the NHWC rows),
/// `.depthwise` (groups == C == Cout: direct, per tap, exact in s16 products / s32 sums),
/// `.im2col` (any other ungrouped conv: rows gathered block by block, padding = zx).
package struct QConv2D: Sendable {
    package enum Algorithm: String, Sendable { case pointwise, depthwise, im2col }
    package let shape: Conv2DShape
    package let algorithm: Algorithm
    package let output: QConvOutput
    let inputZeroPoint: Int32
    let packed: QPackedWeights?
    let depthwise: QDepthwiseWeights?
    let requantization: QRequantization

    package var gemmPath: QGemmPath? { packed?.path }

    /// `weights`: OIHW s8 codes (symmetric: zero point 0); `bias`: s32 codes with scale
    /// inputScale · weightScales[o] (nil: none); `weightScales`: one per output channel or one.
    package init(shape: Conv2DShape, weights: [Int8], weightScales: [Float], bias: [Int32]?, inputScale: Float, inputZeroPoint: Int32,
                output: QConvOutput, path: QGemmPath? = nil, allowVNNI: Bool = true) throws(KernelError) {
        try shape.validate()
        let cout = shape.outputChannels, cinG = shape.inputChannels / shape.groups
        let taps = shape.kernelH * shape.kernelW
        try require(weights.count == cout * cinG * taps, "weights", weights.count, "must hold O·I/g·kH·kW = \(cout * cinG * taps) values")
        try require(weightScales.count == cout || weightScales.count == 1, "weightScales", weightScales.count, "must be 1 or \(cout)")
        try require(bias == nil || bias?.count == cout, "bias", bias?.count ?? 0, "must hold \(cout) values")
        try require((0...255).contains(inputZeroPoint), "inputZeroPoint", inputZeroPoint, "must be a u8 code")
        self.shape = shape
        self.output = output
        self.inputZeroPoint = inputZeroPoint
        let multiplier: [Float] = (0..<cout).map { o in
            let ws = Double(weightScales[weightScales.count == 1 ? 0 : o]) * Double(inputScale)
            if case let .u8(scale, _, _, _) = output { return Float(ws / Double(scale)) }
            // Activated: the epilogue dequantizes with x_scale · w_scale, activates, then divides.
            return Float(ws)
        }
        let isDepthwise = shape.groups == shape.inputChannels && shape.groups == cout
        if isDepthwise {
            algorithm = .depthwise
            packed = nil
            depthwise = QDepthwiseWeights(weights: weights, channels: cout, kernelH: shape.kernelH, kernelW: shape.kernelW)
            // Depthwise subtracts zx from x before multiplying: no weight-sum correction.
            requantization = Self.requantization(bias: bias ?? [Int32](repeating: 0, count: cout), multiplier: multiplier, output: output)
            return
        }
        try require(shape.groups == 1, "groups", shape.groups, "must be 1 or depthwise for INT8 convolution")
        depthwise = nil
        // Reorder OIHW → O (kH, kW, I): the order NHWC rows are read/gathered in.
        var reordered = [Int8](repeating: 0, count: weights.count)
        for o in 0..<cout {
            for c in 0..<cinG {
                for t in 0..<taps { reordered[(o * taps + t) * cinG + c] = weights[(o * cinG + c) * taps + t] }
            }
        }
        let p = try QPackedWeights(weights: reordered, n: cout, k: cinG * taps, path: path, allowVNNI: allowVNNI)
        packed = p
        let b = bias ?? [Int32](repeating: 0, count: cout)
        let corrected = (0..<cout).map { b[$0] &- inputZeroPoint &* p.rowSums[$0] }
        requantization = Self.requantization(bias: corrected, multiplier: multiplier, output: output)
        let s = shape
        algorithm = s.kernelH == 1 && s.kernelW == 1 && s.strideH == 1 && s.strideW == 1
            && s.pads.top == 0 && s.pads.left == 0 && s.pads.bottom == 0 && s.pads.right == 0 ? .pointwise : .im2col
    }

    static func requantization(bias: [Int32], multiplier: [Float], output: QConvOutput) -> QRequantization {
        if case let .u8(_, zp, low, high) = output {
            return QRequantization(bias: bias, multiplier: multiplier, zeroPoint: zp, low: low, high: high)
        }
        if case let .u8Activated(scale, zp, activation) = output {
            return QRequantization(bias: bias, multiplier: multiplier, zeroPoint: zp, low: 0, high: 255,
                                   activation: activation, outputScale: scale)
        }
        return QRequantization(bias: bias, multiplier: multiplier)
    }

    /// `input`: u8 NHWC [batch, H, W, C]; `output`: u8 NHWC or f32 NCHW per `output`.
    package func run(input: UnsafePointer<UInt8>, batch: Int, output out: UnsafeMutableRawPointer,
                    context: KernelContext = .shared) throws(KernelError) {
        try run(input: input, batch: batch, output: out, zeroPoint: inputZeroPoint, requantization: requantization, context: context)
    }

    /// The same convolution for input codes whose zero point is known only now (dynamic
    /// quantization): made with `inputZeroPoint` 0, the zero point's share Σ w·zx is taken
    /// off per run.
    /// `multiplier` (float output only, one per output channel) replaces the channels'
    /// multipliers: a dequantizing scale known only now.
    package func run(input: UnsafePointer<UInt8>, batch: Int, output out: UnsafeMutableRawPointer, inputZeroPoint zx: Int32,
                    multiplier: [Float]? = nil, context: KernelContext = .shared) throws(KernelError) {
        try require((0...255).contains(zx), "inputZeroPoint", zx, "must be a u8 code")
        try require(inputZeroPoint == 0, "inputZeroPoint", inputZeroPoint, "must be 0 at init for a per-run zero point")
        var rq = requantization
        if let multiplier, output == .f32 {
            try require(multiplier.count == shape.outputChannels, "multiplier", multiplier.count, "must hold one value per output channel")
            rq.multiplier = multiplier
        }
        if let packed { rq.bias = (0..<rq.bias.count).map { o in rq.bias[o] &- zx &* packed.rowSums[o] } }
        try run(input: input, batch: batch, output: out, zeroPoint: zx, requantization: rq, context: context)
    }

    private func run(input: UnsafePointer<UInt8>, batch: Int, output out: UnsafeMutableRawPointer, zeroPoint inputZeroPoint: Int32,
                     requantization: QRequantization, context: KernelContext) throws(KernelError) {
        try require(batch >= 0, "batch", batch, "must be ≥ 0")
        let oh = shape.outputHeight, ow = shape.outputWidth, cout = shape.outputChannels
        if let depthwise {
            qDepthwise(shape: shape, weights: depthwise, requantization: requantization, zeroPoint: inputZeroPoint,
                       input: input, batch: batch, output: out, floatOutput: output == .f32, context: context)
            return
        }
        guard let packed else { return }
        for image in 0..<(output == .f32 ? batch : 1) {
            // u8 NHWC output: all images are one GEMM (rows are pixels of every image).
            let images = output == .f32 ? 1 : batch
            let rows = images * oh * ow
            let inImage = input + image * shape.height * shape.width * shape.inputChannels
            let a: QGemmA = algorithm == .pointwise
                ? .rows(inImage, rowStride: shape.inputChannels)
                : .gather(QIm2col(shape: shape, input: inImage, zeroPoint: UInt8(truncatingIfNeeded: inputZeroPoint)))
            let o: QGemmOutput = output == .f32
                ? .f32(out.assumingMemoryBound(to: Float.self) + image * cout * oh * ow, rowStride: 1, channelStride: oh * ow)
                : .u8(out.assumingMemoryBound(to: UInt8.self), rowStride: cout)
            try qgemm(m: rows, a: a, weights: packed, requantization: requantization, output: o, context: context)
        }
    }
}

/// Rows of the im2col matrix of an NHWC image stack: row = output pixel (image, oy, ox),
/// columns (ky, kx, c); taps in the padding read the zero point (so they add nothing).
struct QIm2col: QRowGather, @unchecked Sendable {
    let shape: Conv2DShape
    let input: UnsafePointer<UInt8>
    let zeroPoint: UInt8

    func fill(rows: Range<Int>, into dst: UnsafeMutablePointer<UInt8>, stride: Int) {
        // The shape's fields as locals and wrapping arithmetic: this runs once per output
        // pixel, and a 16-channel 3 × 3 conv's whole row is nine 16-byte copies, so the index
        // bookkeeping (spilled struct fields, overflow checks) cost twice the GEMM.
        let s = shape
        let oh = s.outputHeight, ow = s.outputWidth, c = s.inputChannels
        let height = s.height, width = s.width, kh = s.kernelH, kw = s.kernelW
        let sh = s.strideH, sw = s.strideW, dh = s.dilationH, dw = s.dilationW, top = s.pads.top, left = s.pads.left
        let imageBytes = height &* width &* c, rowBytes = width &* c
        // A whole kernel row in bounds and contiguous (dilation 1, ≤ 64 bytes: the stem's 3 × 3
        // channels, 3 × 3 convs of up to 21 channels) goes as 16-byte copies. The bytes past
        // kW·c land where the next kernel row or the next matrix row goes (rows are filled in
        // order; `qgemm` leaves 64 bytes of slack after the last one and zeroes K padding after).
        let span = kw &* c, chunks = (span &+ 15) / 16, vectorRows = dw == 1 && span <= 64
        // The first row's position by division, the rest by stepping.
        var image = rows.lowerBound / (oh &* ow), oy = (rows.lowerBound / ow) % oh, ox = rows.lowerBound % ow
        for i in 0..<rows.count {
            let base = input + image &* imageBytes
            var d = dst + i &* stride
            let ix0 = ox &* sw &- left
            let columnsInside = ix0 >= 0 && ix0 &+ (kw &- 1) &* dw < width
            for ky in 0..<kh {
                let iy = oy &* sh &- top &+ ky &* dh
                if columnsInside && iy >= 0 && iy < height {
                    let offset = iy &* rowBytes &+ ix0 &* c
                    if vectorRows && offset &+ chunks &* 16 <= imageBytes {
                        let from = UnsafeRawPointer(base + offset), to = UnsafeMutableRawPointer(d)
                        for q in 0..<chunks {
                            to.storeBytes(of: from.loadUnaligned(fromByteOffset: q &* 16, as: SIMD16<UInt8>.self), toByteOffset: q &* 16,
                                          as: SIMD16<UInt8>.self)
                        }
                        d += span
                        continue
                    }
                    if dw == 1 {
                        // Adjacent NHWC pixels: the kernel row's kW·c bytes are one run.
                        d.update(from: base + offset, count: span)
                        d += span
                        continue
                    }
                }
                for kx in 0..<kw {
                    let ix = ix0 &+ kx &* dw
                    if iy >= 0 && iy < height && ix >= 0 && ix < width {
                        d.update(from: base + (iy &* width &+ ix) &* c, count: c)
                    } else {
                        d.update(repeating: zeroPoint, count: c)
                    }
                    d += c
                }
            }
            ox &+= 1
            if ox == ow { ox = 0; oy &+= 1; if oy == oh { oy = 0; image &+= 1 } }
        }
    }
}
