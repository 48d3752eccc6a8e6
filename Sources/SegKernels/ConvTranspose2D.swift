/// Shape and attributes of a 2-D ONNX ConvTranspose on NCHW float32: input [N, Cin, H, W],
/// weights [Cin, Cout/groups, kH, kW], output [N, Cout, outH, outW]. Input pixel (iy, ix)
/// adds x·w[ci, co, ky, kx] to output (iy·sH − padTop + ky·dH, ix·sW − padLeft + kx·dW);
/// positions outside the output are dropped. The output size is free (ONNX derives it from
/// the end pads, `output_padding` or `output_shape`); `init` computes the usual
/// outH = sH·(H − 1) + outputPaddingH + dH·(kH − 1) + 1 − padTop − padBottom, likewise outW.
package struct ConvTranspose2DShape: Sendable, Equatable {
    package var inputChannels: Int, height: Int, width: Int
    package var outputChannels: Int, outputHeight: Int, outputWidth: Int
    package var kernelH: Int, kernelW: Int
    package var strideH: Int, strideW: Int
    package var padTop: Int, padLeft: Int
    package var dilationH: Int, dilationW: Int
    package var groups: Int

    /// `pads` in ONNX order (top, left, bottom, right); the end pads may be negative (an
    /// `output_shape` larger than the natural size: the extra rows and columns get bias only).
    package init(inputChannels: Int, height: Int, width: Int, outputChannels: Int, kernelH: Int, kernelW: Int,
                strides: (Int, Int) = (1, 1), pads: (Int, Int, Int, Int) = (0, 0, 0, 0),
                outputPadding: (Int, Int) = (0, 0), dilations: (Int, Int) = (1, 1), groups: Int = 1) {
        self.inputChannels = inputChannels; self.height = height; self.width = width
        self.outputChannels = outputChannels; self.kernelH = kernelH; self.kernelW = kernelW
        (strideH, strideW) = strides
        (padTop, padLeft) = (pads.0, pads.1)
        (dilationH, dilationW) = dilations
        self.groups = groups
        outputHeight = strides.0 * (height - 1) + outputPadding.0 + dilations.0 * (kernelH - 1) + 1 - pads.0 - pads.2
        outputWidth = strides.1 * (width - 1) + outputPadding.1 + dilations.1 * (kernelW - 1) + 1 - pads.1 - pads.3
    }

    /// Every output pixel receives at most one tap (the window span fits in the stride, as in
    /// the common kernel = stride upsampler), so taps can be stored rather than accumulated.
    var isNonOverlapping: Bool { (kernelH - 1) * dilationH < strideH && (kernelW - 1) * dilationW < strideW }

    func validate() throws(KernelError) {
        for (name, value) in [("inputChannels", inputChannels), ("height", height), ("width", width),
                              ("outputChannels", outputChannels), ("outputHeight", outputHeight), ("outputWidth", outputWidth),
                              ("kernelH", kernelH), ("kernelW", kernelW), ("strideH", strideH), ("strideW", strideW),
                              ("dilationH", dilationH), ("dilationW", dilationW), ("groups", groups)] {
            try require(value >= 1, name, value, "must be ≥ 1")
        }
        try require(padTop >= 0, "padTop", padTop, "must be ≥ 0")
        try require(padLeft >= 0, "padLeft", padLeft, "must be ≥ 0")
        try require(inputChannels % groups == 0, "groups", groups, "must divide inputChannels \(inputChannels)")
        try require(outputChannels % groups == 0, "groups", groups, "must divide outputChannels \(outputChannels)")
        for (name, a, b, c) in [("input", inputChannels, height, width), ("output", outputChannels, outputHeight, outputWidth),
                                ("columns", outputChannels * kernelH, kernelW, width)] {
            let (hw, o1) = b.multipliedReportingOverflow(by: c)
            let (all, o2) = a.multipliedReportingOverflow(by: hw)
            try require(!o1 && !o2 && all < Int32.max, "\(name) size", "\(a)×\(b)×\(c)", "is too large")
        }
    }
}

/// A transposed convolution compiled once per (weights, shape): per group, the weights are
/// packed as the GEMM A operand Wᵀ [Cout_g·kH·kW × Cin_g] at init. `run` then, per image and per
/// band of input rows (sized so the column block stays in L2):
/// 1. columns[(co, ky, kx)][iy, ix] = Σ_ci W[ci, co, ky, kx] · x[ci, iy, ix]  (one threaded GEMM
///    per group);
/// 2. col2im, threaded over output channels (a channel's taps are its own rows, so no two
///    threads write one plane): output rows the band reaches are first set to the bias, taps
///    are added in (or stored, when no two taps meet: `isNonOverlapping`), and rows no later
///    band can reach get the activation while they are still in cache.
/// y = activation(convTranspose(x) + bias).
package final class ConvTranspose2D: @unchecked Sendable {
    package let shape: ConvTranspose2DShape
    package let activation: Activation
    let packedGroups: [PackedMatrix]
    let bias: [Float]?
    /// Per kernel column kx: the input columns whose tap lands inside the output.
    let columnRanges: [Range<Int>]

    /// Floats of the column block per band (1 MiB: half a core's L2 here). Tests shrink it to
    /// run one input row per band.
    var bandFloats = 1 << 18

    /// `weights` holds Cin·(Cout/groups)·kH·kW floats in ONNX order; `bias` Cout floats or nil.
    package init(shape: ConvTranspose2DShape, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                activation: Activation = .none) throws(KernelError) {
        try shape.validate()
        self.shape = shape
        self.activation = activation
        self.bias = bias.map { Array(UnsafeBufferPointer(start: $0, count: shape.outputChannels)) }
        let cinG = shape.inputChannels / shape.groups
        let rowsG = shape.outputChannels / shape.groups * shape.kernelH * shape.kernelW
        var packed: [PackedMatrix] = []
        for g in 0..<shape.groups {
            // Memory holds W_g as [Cin_g × rowsG], i.e. Aᵀ.
            packed.append(try PackedMatrix(a: weights + g * cinG * rowsG, rows: rowsG, columns: cinG,
                                           leadingDimension: rowsG, transposed: true))
        }
        packedGroups = packed
        columnRanges = (0..<shape.kernelW).map { kx in
            Self.validInputs(offset: kx * shape.dilationW - shape.padLeft, stride: shape.strideW,
                             input: shape.width, output: shape.outputWidth)
        }
    }

    /// Inputs i with 0 ≤ i·stride + offset < output.
    static func validInputs(offset: Int, stride: Int, input: Int, output: Int) -> Range<Int> {
        let lo = max(0, ceilDiv(-offset, stride))
        let hi = min(input, floorDiv(output - 1 - offset, stride) + 1)
        return lo < hi ? lo..<hi : 0..<0
    }

    /// Runs on `batch` images: `input` [batch, Cin, H, W], `output` [batch, Cout, outH, outW];
    /// the buffers must not overlap.
    package func run(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                    context: KernelContext = .shared) throws(KernelError) {
        try require(batch >= 0, "batch", batch, "must be ≥ 0")
        let s = shape
        let taps = s.kernelH * s.kernelW
        let cinG = s.inputChannels / s.groups, coutG = s.outputChannels / s.groups
        let inPlane = s.height * s.width, outPlane = s.outputHeight * s.outputWidth
        let bandRows = max(1, min(s.height, bandFloats / (s.outputChannels * taps * s.width)))
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: s.outputChannels * taps * bandRows * s.width)
        defer { columns.deallocate() }
        for image in 0..<batch {
            let x = input + image * s.inputChannels * inPlane
            let y = output + image * s.outputChannels * outPlane
            var initialized = 0, finished = 0
            var r0 = 0
            while r0 < s.height {
                let r1 = min(s.height, r0 + bandRows)
                let n = (r1 - r0) * s.width
                for g in 0..<s.groups {
                    try sgemm(packedA: packedGroups[g], n: n, b: x + g * cinG * inPlane + r0 * s.width, ldb: inPlane,
                              c: columns + g * coutG * taps * n, ldc: n, context: context)
                }
                let last = r1 == s.height
                // Rows no later band reaches are final; rows this band reaches need their bias first.
                let finishTo = last ? s.outputHeight : max(finished, min(s.outputHeight, r1 * s.strideH - s.padTop))
                let reach = (r1 - 1) * s.strideH - s.padTop + (s.kernelH - 1) * s.dilationH + 1
                let initTo = last ? s.outputHeight : max(initialized, finishTo, min(s.outputHeight, reach))
                let band = Band(rows: r0..<r1, count: n, initialize: initialized..<initTo, finish: finished..<finishTo)
                context.pool.parallelFor(s.outputChannels) { channels in
                    for co in channels {
                        col2im(columns + co * taps * n, into: y + co * outPlane, channel: co, band: band)
                    }
                }
                initialized = initTo
                finished = finishTo
                r0 = r1
            }
        }
    }

    struct Band {
        /// Input rows of the band and its column count (rows · W).
        let rows: Range<Int>
        let count: Int
        /// Output rows to set to the bias before adding taps, and rows to finish.
        let initialize: Range<Int>
        let finish: Range<Int>
    }

    /// One output channel's share of a band: its kH·kW column rows scattered into its plane.
    private func col2im(_ columns: UnsafeMutablePointer<Float>, into plane: UnsafeMutablePointer<Float>, channel: Int, band: Band) {
        let s = shape
        let ow = s.outputWidth
        let b = bias?[channel] ?? 0
        if !band.initialize.isEmpty {
            (plane + band.initialize.lowerBound * ow).initialize(repeating: b, count: band.initialize.count * ow)
        }
        let store = s.isNonOverlapping
        for iy in band.rows {
            let source = columns + (iy - band.rows.lowerBound) * s.width
            for ky in 0..<s.kernelH {
                let oy = iy * s.strideH - s.padTop + ky * s.dilationH
                guard oy >= 0 && oy < s.outputHeight else { continue }
                for kx in 0..<s.kernelW {
                    let range = columnRanges[kx]
                    if range.isEmpty { continue }
                    let src = source + (ky * s.kernelW + kx) * band.count
                    let dst = plane + oy * ow + kx * s.dilationW - s.padLeft
                    if store {
                        for ix in range { dst[ix * s.strideW] = src[ix] + b }
                    } else if s.strideW == 1 {
                        addContiguous(src + range.lowerBound, into: dst + range.lowerBound, count: range.count)
                    } else {
                        let step = s.strideW
                        for ix in range { dst[ix * step] += src[ix] }
                    }
                }
            }
        }
        if activation != .none && !band.finish.isEmpty {
            Epilogue(activation: activation).apply(c: plane, ldc: ow, rows: band.finish, columns: 0..<ow)
        }
    }
}

@inline(__always)
private func addContiguous(_ src: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        store8(load8(dst + i) + load8(src + i), dst + i)
        i += 8
    }
    while i < count {
        dst[i] += src[i]
        i += 1
    }
}

@inline(__always)
private func floorDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

@inline(__always)
private func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
