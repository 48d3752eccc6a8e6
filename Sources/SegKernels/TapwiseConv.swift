/// A stride-1, ungrouped convolution run one kernel tap at a time, each tap only over the
/// output rectangle where it reads the input rather than padding: out = act(bias + Σ_taps
/// W[:, :, ky, kx] · x shifted), every term a pointwise GEMM.
///
/// Why: DeepLab's ASPP runs 3×3 convs at dilations 12–36 on 1/16-scale maps (23×30 for a
/// CamVid frame). There, a tap that is valid for some outputs is padding for many others, so
/// trimming whole kernel rows/columns (`TapTrim`) keeps most of the zero multiply-adds: at
/// dilation 12 on 23×30, 48% of the 3×3 taps' positions read the image; at dilation 24 (1×3
/// after trimming), 47%. Per tap, the rest are skipped: MLAS's NCHWc kernels skip them too.
/// Each tap's weights are packed once (the same floats as the whole kernel), each off-centre
/// tap copies its input rectangle (C × h' × w') before its GEMM and adds its product into the
/// output's rectangle.
package struct TapwiseConv: Sendable {
    package let shape: Conv2DShape
    let activation: Activation
    let bias: [Float]?
    let taps: [Tap]
    /// Multiply-adds per image over the taps' rectangles.
    package let multiplyAdds: Int

    struct Tap: Sendable {
        /// Output rectangle and the input position its top-left output reads.
        let rows: Range<Int>, columns: Range<Int>
        let inputRow: Int, inputColumn: Int
        /// Pointwise conv on the rectangle's input (C × h' × w').
        let conv: Conv2D
        /// Whether the rectangle is the whole output and reads the whole input unshifted (the
        /// centre tap of a "same" conv): the GEMM then reads the input and writes the output
        /// in place.
        let inPlace: Bool
    }

    /// For each tap (row-major over the kernel), the output rows and columns where it reads
    /// the input; empty ranges for taps that only read padding.
    package static func validRectangles(_ s: Conv2DShape) -> [(ky: Int, kx: Int, rows: Range<Int>, columns: Range<Int>)] {
        func valid(_ t: Int, _ d: Int, _ pad: Int, _ inLen: Int, _ outLen: Int) -> Range<Int> {
            // Output o reads input o − pad + t·d (stride 1).
            let lo = max(0, pad - t * d), hi = min(outLen, inLen + pad - t * d)
            return lo < hi ? lo..<hi : 0..<0
        }
        var out: [(Int, Int, Range<Int>, Range<Int>)] = []
        for ky in 0..<s.kernelH {
            for kx in 0..<s.kernelW {
                out.append((ky, kx, valid(ky, s.dilationH, s.pads.top, s.height, s.outputHeight),
                            valid(kx, s.dilationW, s.pads.left, s.width, s.outputWidth)))
            }
        }
        return out
    }

    /// Multiply-adds per image of the tapwise form, for comparing with the whole-kernel one.
    package static func multiplyAdds(_ s: Conv2DShape) -> Int {
        validRectangles(s).reduce(0) { $0 + $1.rows.count * $1.columns.count } * s.inputChannels * s.outputChannels
    }

    /// nil unless the shape is a stride-1 ungrouped conv of more than one tap.
    package init?(shape: Conv2DShape, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: Activation,
                  options: KernelOptions = .standard) throws(KernelError) {
        try shape.validate()
        guard shape.groups == 1, shape.strideH == 1, shape.strideW == 1, shape.kernelH * shape.kernelW > 1 else { return nil }
        self.shape = shape
        self.activation = activation
        self.bias = bias.map { Array(UnsafeBufferPointer(start: $0, count: shape.outputChannels)) }
        let (cin, cout, kh, kw) = (shape.inputChannels, shape.outputChannels, shape.kernelH, shape.kernelW)
        var taps: [Tap] = []
        var tapWeights = [Float](repeating: 0, count: cout * cin)
        for (ky, kx, rows, columns) in Self.validRectangles(shape) where !rows.isEmpty && !columns.isEmpty {
            for o in 0..<cout {
                for c in 0..<cin { tapWeights[o * cin + c] = weights[((o * cin + c) * kh + ky) * kw + kx] }
            }
            let inputRow = rows.lowerBound - shape.pads.top + ky * shape.dilationH
            let inputColumn = columns.lowerBound - shape.pads.left + kx * shape.dilationW
            let inPlace = rows.count == shape.outputHeight && columns.count == shape.outputWidth && inputRow == 0 && inputColumn == 0
                && shape.outputHeight == shape.height && shape.outputWidth == shape.width
            let pointwise = Conv2DShape(inputChannels: cin, height: rows.count, width: columns.count, outputChannels: cout,
                                        kernelH: 1, kernelW: 1)
            let conv = try tapWeights.withUnsafeBufferPointer { w throws(KernelError) in
                try Conv2D(shape: pointwise, weights: w.baseAddress!, bias: nil, activation: .none, options: options)
            }
            taps.append(Tap(rows: rows, columns: columns, inputRow: inputRow, inputColumn: inputColumn, conv: conv, inPlace: inPlace))
        }
        // The in-place tap first: it writes the whole output, so nothing needs zeroing.
        taps.sort { $0.inPlace && !$1.inPlace }
        self.taps = taps
        self.multiplyAdds = Self.multiplyAdds(shape)
    }

    /// `input` [batch, Cin, H, W] → `output` [batch, Cout, outH, outW].
    package func run(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                     context: KernelContext = .shared) throws(KernelError) {
        try require(batch >= 0, "batch", batch, "must be ≥ 0")
        let (cin, cout) = (shape.inputChannels, shape.outputChannels)
        let (h, w, oh, ow) = (shape.height, shape.width, shape.outputHeight, shape.outputWidth)
        let largest = taps.filter { !$0.inPlace }.map { $0.rows.count * $0.columns.count }.max() ?? 0
        // One scratch for every off-centre tap: its input rectangle, then its product.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max((cin + cout) * largest, 1))
        defer { scratch.deallocate() }
        nonisolated(unsafe) let crop = scratch, product = scratch + cin * largest
        for n in 0..<batch {
            nonisolated(unsafe) let x = input + n * cin * h * w, y = output + n * cout * oh * ow
            var remaining = taps[...]
            if let first = taps.first, first.inPlace {
                try first.conv.run(input: x, batch: 1, output: y, context: context)
                remaining = remaining.dropFirst()
            } else {
                y.update(repeating: 0, count: cout * oh * ow)
            }
            for tap in remaining {
                let th = tap.rows.count, tw = tap.columns.count
                let (r0, c0) = (tap.inputRow, tap.inputColumn)
                context.pool.parallelFor(cin) { channels in
                    for c in channels {
                        for r in 0..<th { (crop + (c * th + r) * tw).update(from: x + (c * h + r0 + r) * w + c0, count: tw) }
                    }
                }
                try tap.conv.run(input: crop, batch: 1, output: product, context: context)
                let (o0, p0) = (tap.rows.lowerBound, tap.columns.lowerBound)
                context.pool.parallelFor(cout) { channels in
                    for c in channels {
                        for r in 0..<th {
                            let dst = y + (c * oh + o0 + r) * ow + p0, src = product + (c * th + r) * tw
                            for i in 0..<tw { dst[i] += src[i] }
                        }
                    }
                }
            }
            finish(y, context: context)
        }
    }

    /// Bias and activation over one image's output.
    private func finish(_ y: UnsafeMutablePointer<Float>, context: KernelContext = .shared) {
        if bias == nil && activation == .none { return }
        let plane = shape.outputHeight * shape.outputWidth
        let bias = self.bias, activation = self.activation
        nonisolated(unsafe) let out = y
        context.pool.parallelFor(shape.outputChannels) { channels in
            for c in channels {
                let p = out + c * plane
                if let b = bias?[c] { for i in 0..<plane { p[i] += b } }
                activation.apply(p, count: plane)
            }
        }
    }
}
