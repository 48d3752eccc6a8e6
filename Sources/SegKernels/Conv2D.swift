import Foundation

/// Shape and attributes of an ONNX Conv on NCHW float32: input [N, inputChannels, H, W],
/// weights [outputChannels, inputChannels/groups, kernelH, kernelW], output
/// [N, outputChannels, outH, outW] with outH = (H + padTop + padBottom − dH·(kH−1) − 1)/sH + 1
/// (floor), likewise outW.
package struct Conv2DShape: Sendable, Equatable {
    package var inputChannels: Int, height: Int, width: Int
    package var outputChannels: Int
    package var kernelH: Int, kernelW: Int
    package var strideH: Int = 1, strideW: Int = 1
    /// ONNX order: top, left, bottom, right.
    package var pads: (top: Int, left: Int, bottom: Int, right: Int) = (0, 0, 0, 0)
    package var dilationH: Int = 1, dilationW: Int = 1
    package var groups: Int = 1

    package init(inputChannels: Int, height: Int, width: Int, outputChannels: Int, kernelH: Int, kernelW: Int,
                strides: (Int, Int) = (1, 1), pads: (Int, Int, Int, Int) = (0, 0, 0, 0),
                dilations: (Int, Int) = (1, 1), groups: Int = 1) {
        self.inputChannels = inputChannels; self.height = height; self.width = width
        self.outputChannels = outputChannels; self.kernelH = kernelH; self.kernelW = kernelW
        (strideH, strideW) = strides
        self.pads = (pads.0, pads.1, pads.2, pads.3)
        (dilationH, dilationW) = dilations
        self.groups = groups
    }

    package var outputHeight: Int { (height + pads.top + pads.bottom - dilationH * (kernelH - 1) - 1) / strideH + 1 }
    package var outputWidth: Int { (width + pads.left + pads.right - dilationW * (kernelW - 1) - 1) / strideW + 1 }

    package static func == (l: Conv2DShape, r: Conv2DShape) -> Bool {
        l.fields == r.fields
    }

    private var fields: [Int] {
        [inputChannels, height, width, outputChannels, kernelH, kernelW, strideH, strideW,
         pads.top, pads.left, pads.bottom, pads.right, dilationH, dilationW, groups]
    }

    func validate() throws(KernelError) {
        for (name, value) in [("inputChannels", inputChannels), ("height", height), ("width", width),
                              ("outputChannels", outputChannels), ("kernelH", kernelH), ("kernelW", kernelW),
                              ("strideH", strideH), ("strideW", strideW), ("dilationH", dilationH),
                              ("dilationW", dilationW), ("groups", groups)] {
            try require(value >= 1, name, value, "must be ≥ 1")
        }
        for (name, value) in [("padTop", pads.top), ("padLeft", pads.left), ("padBottom", pads.bottom), ("padRight", pads.right)] {
            try require(value >= 0, name, value, "must be ≥ 0")
        }
        try require(inputChannels % groups == 0, "groups", groups, "must divide inputChannels \(inputChannels)")
        try require(outputChannels % groups == 0, "groups", groups, "must divide outputChannels \(outputChannels)")
        try require(outputHeight >= 1 && outputWidth >= 1, "output size", "\(outputHeight)×\(outputWidth)",
                    "must be ≥ 1×1 (kernel larger than the padded input)")
        let (elements, overflow) = (inputChannels * height).multipliedReportingOverflow(by: width)
        try require(!overflow && elements < Int32.max, "input size", "\(inputChannels)×\(height)×\(width)", "is too large")
    }
}

/// A convolution compiled once per (weights, shape, attributes): weights are pre-packed at
/// init, `run` only reads input and writes output. Bias, activation and an optional residual
/// (`Add` fused onto the conv) are applied on each output tile:
///   y = activation(conv(x) + bias [+ residual]) [+ residual], per `residualBeforeActivation`.
/// Algorithms, chosen at init:
/// - `.pointwise`: 1×1, stride 1, no pads → per group GEMM W_g[Cout_g × Cin_g] · X_g[Cin_g × HW].
/// - `.depthwise`: groups == Cin == Cout and kernel ≤ 7×7 → direct SIMD kernel over output rows.
/// - `.implicitGEMM`: everything else (incl. general grouped conv) → per group GEMM with
///   W_g[Cout_g × Cin_g·kH·kW] and B packed from the image block by block (im2col, never
///   materialised whole).
package final class Conv2D: @unchecked Sendable {
    package enum Algorithm: Sendable { case pointwise, depthwise, implicitGEMM, winograd }

    package let shape: Conv2DShape
    package let algorithm: Algorithm
    package let activation: Activation
    package var outputHeight: Int { shape.outputHeight }
    package var outputWidth: Int { shape.outputWidth }
    let packedGroups: [PackedMatrix]
    /// Depthwise: the raw weights [C, kH·kW]. Others: empty.
    let depthwiseWeights: [Float]
    /// Pointwise on a 1×1 map (squeeze-excite FCs, N = 1): the raw weights [Cout, Cin] for
    /// the matrix-vector path. Others: empty.
    let matvecWeights: [Float]
    /// Convs on the AVX-512 kernel (`pointwiseRowsAVX512`): pointwise ones with few input
    /// channels, reading the input planes in place (`PointwiseSmallDepth`), and implicit-GEMM
    /// ones with few output channels, reading im2col panels (`Im2colAVX512`) or the input in
    /// place along output rows (`DirectAVX512`). Their raw weights [Cout, Cin·kH·kW]; else empty.
    let avx512Weights: [Float]
    let bias: [Float]?
    /// Pointwise and stride-1-along-W implicit GEMM: per depth row k = (c, ky, kx) of one
    /// group, its offset in the input from a panel's origin (`DirectOperand`). Else empty.
    let directOffsets: [Int]
    /// Stride-2 implicit GEMM on the AVX-512 kernel with few input rows: the layout of the
    /// even/odd column planes it reads in place (`ParityAVX512`). Else nil.
    let parityPlanes: ParityPlanes?
    /// `.winograd`: the transformed weights and tile loops. Else nil.
    let winograd: WinogradConv3x3?
    /// Implicit GEMM on the kernel with output channels across the vector lanes: a few output
    /// channels, not a multiple of eight (`NarrowOutputConv`), or dense convs swept over
    /// flattened padded positions (`LaneSweepConv`). The weights with channels across in blocks of 32, and each depth
    /// row's offset in the zero-bordered image. Else empty.
    let laneWeights: [Float]
    let laneOffsets: [Int]
    /// Implicit GEMM with large vertical dilation or padding: output rows grouped by which
    /// kernel rows read real input, each band a GEMM over only those rows (DeepLab's
    /// dilation-12 ASPP conv on a 23-row map skips a third of its multiply-adds). Else empty.
    let rowBands: [RowBand]

    struct RowBand: @unchecked Sendable {
        /// Output rows of the band, and the kernel rows valid for all of them.
        let rows: Range<Int>
        let kernelRows: Range<Int>
        /// Input row read by the band's first output row through its first valid kernel row.
        let inputRow: Int
        let packed: PackedMatrix
    }

    /// `weights` holds Cout·(Cin/groups)·kH·kW floats in ONNX order; `bias` Cout floats or nil.
    /// `winograd`: nil picks by shape (`WinogradConv3x3.isProfitable`); true uses it for any
    /// shape it handles, false never (tests and A/B measurements). `options` carries the run's
    /// algorithm switches (Winograd, reading B in place).
    package init(shape: Conv2DShape, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                activation: Activation = .none, winograd choice: Bool? = nil, options: KernelOptions = .standard) throws(KernelError) {
        try shape.validate()
        self.shape = shape
        self.activation = activation
        self.bias = bias.map { Array(UnsafeBufferPointer(start: $0, count: shape.outputChannels)) }
        let taps = shape.kernelH * shape.kernelW
        let cinG = shape.inputChannels / shape.groups, coutG = shape.outputChannels / shape.groups
        if shape.groups == shape.inputChannels && shape.groups == shape.outputChannels
            && shape.kernelH <= 7 && shape.kernelW <= 7 {
            algorithm = .depthwise
            depthwiseWeights = Array(UnsafeBufferPointer(start: weights, count: shape.outputChannels * taps))
            packedGroups = []
            matvecWeights = []
            avx512Weights = []
            directOffsets = []
            parityPlanes = nil
            winograd = nil
            rowBands = []
            laneWeights = []
            laneOffsets = []
            return
        }
        let isPointwise = taps == 1 && shape.strideH == 1 && shape.strideW == 1 && shape.pads == (0, 0, 0, 0)
        // The lane sweep outruns Winograd F(2,3) where it applies on full-width AVX-512, and on
        // half-rate AVX-512 for few output channels (`laneSweepOverWinogradMaxChannels`); an
        // explicit Winograd choice (tests, A/B) still wins.
        let winogradProfitable = !isPointwise && options.winograd && WinogradConv3x3.isProfitable(shape, options: options)
        let laneSweep = !isPointwise && choice == nil && Self.usesLaneSweepKernel(shape, options: options)
            && (!winogradProfitable || shape.outputChannels <= options.laneSweepOverWinogradMaxChannels)
        let useWinograd = !isPointwise && !laneSweep && (choice.map { $0 && WinogradConv3x3.isEligible(shape) } ?? winogradProfitable)
        algorithm = isPointwise ? .pointwise : useWinograd ? .winograd : .implicitGEMM
        depthwiseWeights = []
        if isPointwise && shape.groups == 1 && shape.height * shape.width == 1 {
            matvecWeights = Array(UnsafeBufferPointer(start: weights, count: shape.outputChannels * shape.inputChannels))
            avx512Weights = []
            packedGroups = []
            directOffsets = []
            parityPlanes = nil
            winograd = nil
            rowBands = []
            laneWeights = []
            laneOffsets = []
            return
        }
        matvecWeights = []
        let readsInPlace = !isPointwise && shape.strideW == 1 && options.directConv && shape.outputWidth >= 48
        let laneKernel = laneSweep || !isPointwise && !useWinograd && Self.usesNarrowOutputKernel(shape, options: options)
        laneWeights = laneKernel ? Self.channelLaneWeights(shape, weights: weights) : []
        laneOffsets = laneSweep ? Self.laneSweepOffsets(shape) : laneKernel ? Self.zeroBorderedOffsets(shape) : []
        let bands = isPointwise || useWinograd || laneKernel || shape.groups != 1 ? [] : try Self.rowBands(shape: shape, weights: weights)
        let avx512 = isPointwise ? Self.usesSmallDepthKernel(shape, activation: activation, options: options)
            : !useWinograd && !laneKernel && bands.isEmpty && Self.usesIm2colKernel(shape, activation: activation, options: options)
                && (!readsInPlace || shape.inputChannels * shape.kernelH <= Self.directAVX512MaxInputRows
                    || options.directGather && Self.directGathers(shape))
        avx512Weights = avx512 ? Array(UnsafeBufferPointer(start: weights, count: shape.outputChannels * cinG * taps)) : []
        if useWinograd {
            winograd = try WinogradConv3x3(shape: shape, weights: weights)
            directOffsets = []
            parityPlanes = nil
            packedGroups = []
            rowBands = []
            return
        }
        winograd = nil
        parityPlanes = avx512 && !isPointwise && Self.usesParityPlanes(shape, options: options) ? ParityPlanes(shape: shape) : nil
        let inPlane = shape.height * shape.width
        if isPointwise && inPlane * 4 <= options.directPointwiseMaxPlaneBytes {
            directOffsets = (0..<cinG).map { $0 * inPlane }
        } else if readsInPlace && avx512 && Self.directGathers(shape) {
            // Offsets into the gathered block (see `runDirectAVX512`).
            directOffsets = Self.depthRowOffsets(shape, channels: cinG, plane: Self.gatherChannelFloats(shape),
                                                 rowWidth: Self.gatherRowWidth(shape))
        } else if readsInPlace {
            // (Narrower maps have few interior panels: most would be packed one by one.)
            directOffsets = Self.depthRowOffsets(shape, channels: cinG, plane: inPlane, rowWidth: shape.width)
        } else {
            directOffsets = []
        }
        var packed: [PackedMatrix] = []
        let kG = cinG * taps
        // The AVX-512 kernels read their own copy (raw, or channels across the lanes); a
        // portable run packs from there per call (`run`), so the weights are not held twice.
        for g in 0..<(avx512Weights.isEmpty && laneWeights.isEmpty ? shape.groups : 0) {
            packed.append(try PackedMatrix(a: weights + g * coutG * kG, rows: coutG, columns: kG, leadingDimension: kG))
        }
        packedGroups = packed
        rowBands = bands
    }

    /// Per depth row k = (c, ky, kx), its offset from an output pixel's origin in an input laid
    /// out as `plane`-float channel planes of `rowWidth`-float rows (the input itself, or a
    /// zero-bordered copy of it).
    static func depthRowOffsets(_ s: Conv2DShape, channels: Int, plane: Int, rowWidth: Int) -> [Int] {
        let taps = s.kernelH * s.kernelW
        return (0..<(channels * taps)).map { k in
            let c = k / taps, tap = k % taps
            return c * plane + (tap / s.kernelW) * s.dilationH * rowWidth + (tap % s.kernelW) * s.dilationW
        }
    }

    /// Bands of output rows sharing one set of valid kernel rows, when skipping the rest saves
    /// at least 15% of the multiply-adds; else empty.
    static func rowBands(shape s: Conv2DShape, weights: UnsafePointer<Float>) throws(KernelError) -> [RowBand] {
        let outH = s.outputHeight
        func valid(_ oy: Int) -> Range<Int> {
            var lo = s.kernelH, hi = 0
            for ky in 0..<s.kernelH {
                let iy = oy * s.strideH - s.pads.top + ky * s.dilationH
                if iy >= 0 && iy < s.height { lo = min(lo, ky); hi = max(hi, ky + 1) }
            }
            return lo < hi ? lo..<hi : 0..<0
        }
        var spans: [(rows: Range<Int>, taps: Range<Int>)] = []
        for oy in 0..<outH {
            let taps = valid(oy)
            if taps.isEmpty { return [] }  // rows reading only padding: leave them to the plain path
            if let last = spans.last, last.taps == taps {
                spans[spans.count - 1].rows = last.rows.lowerBound..<(oy + 1)
            } else {
                spans.append((oy..<(oy + 1), taps))
            }
        }
        let kept = spans.reduce(0) { $0 + $1.rows.count * $1.taps.count }
        guard spans.count > 1, Double(kept) <= 0.85 * Double(outH * s.kernelH) else { return [] }
        let cin = s.inputChannels, kw = s.kernelW
        var bands: [RowBand] = []
        for span in spans {
            let rows = span.taps.count
            var subset = [Float](repeating: 0, count: s.outputChannels * cin * rows * kw)
            for o in 0..<s.outputChannels {
                for c in 0..<cin {
                    for (r, ky) in span.taps.enumerated() {
                        for kx in 0..<kw {
                            subset[((o * cin + c) * rows + r) * kw + kx] = weights[((o * cin + c) * s.kernelH + ky) * kw + kx]
                        }
                    }
                }
            }
            let packed = try subset.withUnsafeBufferPointer { b throws(KernelError) -> PackedMatrix in
                guard let base = b.baseAddress else { throw .unsupported("empty conv weights") }
                return try PackedMatrix(a: base, rows: s.outputChannels, columns: cin * rows * kw, leadingDimension: cin * rows * kw)
            }
            let inputRow = span.rows.lowerBound * s.strideH - s.pads.top + span.taps.lowerBound * s.dilationH
            bands.append(RowBand(rows: span.rows, kernelRows: span.taps, inputRow: inputRow, packed: packed))
        }
        return bands
    }

    /// Runs on `batch` images: `input` [batch, Cin, H, W], `output` [batch, Cout, outH, outW],
    /// `residual` (if any) shaped like `output`. Buffers must not overlap, except that
    /// `residual` may be `output` itself (accumulate onto it).
    package func run(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                    residual: UnsafePointer<Float>? = nil, residualBeforeActivation: Bool = true,
                    context: KernelContext = .shared) throws(KernelError) {
        try require(batch >= 0, "batch", batch, "must be ≥ 0")
        let inPlane = shape.height * shape.width, outPlane = outputHeight * outputWidth
        if algorithm == .depthwise {
            runDepthwise(input: input, batch: batch, output: output, residual: residual,
                         residualBeforeActivation: residualBeforeActivation, context: context)
            return
        }
        // The GEMM overwrites C before its epilogue reads the residual, so an in-place residual
        // becomes beta = 1 (old C joins the sum before bias and activation).
        var residual = residual, beta: Float = 0
        if let r = residual, r == UnsafePointer(output) {
            try require(residualBeforeActivation, "residual", "the output buffer",
                        "may alias the output only when added before the activation")
            residual = nil
            beta = 1
        }
        if let winograd {
            bias.withUnsafeBufferPointerOrNil { biasPointer in
                winograd.run(input: input, batch: batch, output: output, bias: biasPointer, activation: activation,
                             residual: residual, residualBeforeActivation: residualBeforeActivation, accumulate: beta == 1,
                             context: context)
            }
            return
        }
        if !laneWeights.isEmpty && context.isa == .avx2 && KernelISA.hasVNNI {
            if usesLaneSweepKernel {
                runLaneSweep(input: input, batch: batch, output: output, residual: residual, beta: beta,
                            residualBeforeActivation: residualBeforeActivation, context: context)
            } else {
                runNarrowOutput(input: input, batch: batch, output: output, residual: residual, beta: beta,
                                residualBeforeActivation: residualBeforeActivation, context: context)
            }
            return
        }
        if !avx512Weights.isEmpty && context.isa == .avx2 && KernelISA.hasVNNI {
            let (i, o, r, before) = (input, output, residual, residualBeforeActivation)
            if algorithm == .pointwise {
                runSmallDepth(input: i, batch: batch, output: o, residual: r, beta: beta, residualBeforeActivation: before, context: context)
            } else if let parityPlanes {
                runParityAVX512(parityPlanes, input: i, batch: batch, output: o, residual: r, beta: beta,
                                residualBeforeActivation: before, context: context)
            } else if directOffsets.isEmpty {
                runIm2colAVX512(input: i, batch: batch, output: o, residual: r, beta: beta, residualBeforeActivation: before, context: context)
            } else {
                runDirectAVX512(input: i, batch: batch, output: o, residual: r, beta: beta, residualBeforeActivation: before, context: context)
            }
            return
        }
        if !matvecWeights.isEmpty {
            runMatvec(input: input, batch: batch, output: output, residual: residual, beta: beta,
                      residualBeforeActivation: residualBeforeActivation, context: context)
            return
        }
        if !rowBands.isEmpty {
            runBands(input: input, batch: batch, output: output, residual: residual, beta: beta,
                     residualBeforeActivation: residualBeforeActivation, context: context)
            return
        }
        let cinG = shape.inputChannels / shape.groups, coutG = shape.outputChannels / shape.groups
        // (A portable run of a lane-kernel conv: its weights back in ONNX order, once per run.)
        let rawWeights = packedGroups.isEmpty && avx512Weights.isEmpty ? laneWeightsInONNXOrder() : avx512Weights
        // Grouped convs whose groups are each too small to split (BiSeNetV2's 128→768 3×3 g128
        // on 12×15: 6 output channels × 180 pixels × depth 9 per group) run the groups in
        // parallel instead, each GEMM on the thread that took it (a nested parallelFor runs inline).
        let groupMACs = coutG * outPlane * cinG * shape.kernelH * shape.kernelW
        let tasks = batch * shape.groups
        let groupsInParallel = shape.groups > 1 && tasks >= 2 * context.pool.threadCount && groupMACs < Self.smallGroupMACs
        context.pool.parallelFor(groupsInParallel ? tasks : 1) { range in
        for task in (groupsInParallel ? range : 0..<tasks) {
            let image = task / shape.groups, g = task % shape.groups
            do {  // (a scope: the group body as it was when groups ran in a plain loop)
                let x = input + (image * shape.inputChannels + g * cinG) * inPlane
                let outOffset = (image * shape.outputChannels + g * coutG) * outPlane
                // The offset table is read through a pointer for the whole GEMM, so the GEMM
                // runs inside the closure that lends it.
                directOffsets.withUnsafeBufferPointer { offsets in
                    var b: GemmB
                    if algorithm == .pointwise {
                        b = .strided(StridedOperand(base: x, outerStride: 1, depthStride: inPlane))
                    } else {
                        b = .im2col(Im2colOperand(input: x, height: shape.height, width: shape.width,
                                                  kernelH: shape.kernelH, kernelW: shape.kernelW,
                                                  strideH: shape.strideH, strideW: shape.strideW,
                                                  padTop: shape.pads.top, padLeft: shape.pads.left,
                                                  dilationH: shape.dilationH, dilationW: shape.dilationW,
                                                  outW: outputWidth))
                    }
                    let depth = cinG * shape.kernelH * shape.kernelW
                    // (Offsets into the AVX-512 kernel's gathered block are not the GEMM's: a
                    // run that falls back here reads im2col panels.)
                    if let offsetBase = offsets.baseAddress, offsets.count == depth, !directOffsetsIntoGatheredBlock {
                        let geometry: DirectOperand.Geometry = algorithm == .pointwise
                            ? .pointwise(base: x, columns: outPlane)
                            : .conv(input: x, height: shape.height, width: shape.width, outW: outputWidth, strideH: shape.strideH,
                                    padTop: shape.pads.top, padLeft: shape.pads.left,
                                    spanH: (shape.kernelH - 1) * shape.dilationH, spanW: (shape.kernelW - 1) * shape.dilationW)
                        b = .direct(DirectOperand(geometry: geometry, offsets: offsetBase, fallback: b))
                    }
                    bias.withUnsafeBufferPointerOrNil { biasPointer in
                    rawWeights.withUnsafeBufferPointer { raw in
                        let epilogue = Epilogue(bias: biasPointer.map { .perRow($0 + g * coutG) } ?? .none,
                                                activation: activation, residual: residual.map { $0 + outOffset },
                                                residualLeadingDimension: outPlane,
                                                residualBeforeActivation: residualBeforeActivation)
                        let a: GemmA
                        if g < packedGroups.count {
                            a = .packed(packedGroups[g])
                        } else if let base = raw.baseAddress {
                            a = .strided(StridedOperand(base: base, outerStride: depth, depthStride: 1))
                        } else {
                            return
                        }
                        GemmDriver(m: coutG, n: outPlane, k: depth, a: a, b: b,
                                   alpha: 1, beta: beta, c: output + outOffset, ldc: outPlane,
                                   epilogue: epilogue, context: context).run()
                    }
                    }
                }
            }
        }
        }
    }

    /// Groups below this many multiply-adds each run whole on one thread, the groups split over
    /// the pool (a GEMM this small is one block: it would run on one thread anyway).
    static let smallGroupMACs = 1 << 18
}

extension Conv2D {
    /// Which way `run` feeds the GEMM, for tests that must reach a path (the choice is made at
    /// init and never changes the numbers beyond float rounding).
    /// `readsInputInPlace`: B is read straight from the input through the offset table
    /// (`DirectOperand`: pointwise on small planes, stride-1-along-W implicit GEMM on maps at
    /// least 48 wide) instead of being packed panel by panel; row bands (below) take precedence.
    package var readsInputInPlace: Bool { !directOffsets.isEmpty && rowBands.isEmpty }
    /// The kernel rows each row band multiplies (empty: one GEMM over every kernel row).
    package var rowBandKernelRows: [Range<Int>] { rowBands.map(\.kernelRows) }
    /// Whether an AVX2 run takes the AVX-512 pointwise kernel for few input channels
    /// (`PointwiseSmallDepth`) rather than the GEMM.
    package var usesSmallDepthKernel: Bool { !avx512Weights.isEmpty && algorithm == .pointwise }
    /// Whether an AVX2 run takes the AVX-512 kernel on im2col panels (`Im2colAVX512`).
    package var usesIm2colKernel: Bool {
        !avx512Weights.isEmpty && algorithm == .implicitGEMM && directOffsets.isEmpty && parityPlanes == nil
    }
    /// Whether an AVX2 run takes the kernel for a few output channels, not a multiple of eight
    /// (`NarrowOutputConv`).
    package var usesNarrowOutputKernel: Bool { !laneWeights.isEmpty && shape.outputChannels % 8 != 0 }
    /// Whether an AVX2 run takes it sweeping a dense conv's flattened padded positions (`LaneSweepConv`).
    package var usesLaneSweepKernel: Bool { !laneWeights.isEmpty && shape.outputChannels % 16 == 0 }
    /// Whether it reads the even/odd column planes of a stride-2 conv in place (`ParityAVX512`).
    package var usesParityKernel: Bool { !avx512Weights.isEmpty && parityPlanes != nil }
    /// Whether an AVX2 run takes it reading the input in place along output rows (`DirectAVX512`).
    package var usesDirectAVX512Kernel: Bool { !avx512Weights.isEmpty && algorithm == .implicitGEMM && !directOffsets.isEmpty }

    /// One GEMM per row band, each over its valid kernel rows only; no input row it reads is
    /// padding, so the band's im2col has no vertical padding.
    func runBands(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                  residual: UnsafePointer<Float>?, beta: Float, residualBeforeActivation: Bool, context: KernelContext) {
        let inPlane = shape.height * shape.width, outPlane = outputHeight * outputWidth
        for image in 0..<batch {
            let x = input + image * shape.inputChannels * inPlane
            let outOffset = image * shape.outputChannels * outPlane
            for band in rowBands {
                var op = Im2colOperand(input: x + band.inputRow * shape.width, height: shape.height - band.inputRow, width: shape.width,
                                       kernelH: band.kernelRows.count, kernelW: shape.kernelW,
                                       strideH: shape.strideH, strideW: shape.strideW, padTop: 0, padLeft: shape.pads.left,
                                       dilationH: shape.dilationH, dilationW: shape.dilationW, outW: outputWidth)
                op.channelStride = inPlane
                let first = band.rows.lowerBound * outputWidth
                bias.withUnsafeBufferPointerOrNil { biasPointer in
                    let epilogue = Epilogue(bias: biasPointer.map { .perRow($0) } ?? .none, activation: activation,
                                            residual: residual.map { $0 + outOffset + first }, residualLeadingDimension: outPlane,
                                            residualBeforeActivation: residualBeforeActivation)
                    GemmDriver(m: shape.outputChannels, n: band.rows.count * outputWidth, k: band.packed.depth,
                               a: .packed(band.packed), b: .im2col(op), alpha: 1, beta: beta,
                               c: output + outOffset + first, ldc: outPlane, epilogue: epilogue, context: context).run()
                }
            }
        }
    }

    /// Row blocks of a matvec are split over the pool from this many multiply-adds: the
    /// squeeze-excite FCs (960→240, 240→960: 230k) read their weights from L3 or memory on every
    /// run, and two threads read twice as fast (MobileNetV3's ran 1.0× on two threads). Smaller
    /// ones take a few microseconds, less than a pool hand-off.
    static let matvecParallelMACs = 1 << 15

    /// y = W·x for a 1×1 map: four output rows at a time, 8 lanes × 2 vectors over Cin; blocks
    /// of rows over the pool for the large ones (`matvecParallelMACs`).
    func runMatvec(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                   residual: UnsafePointer<Float>?, beta: Float, residualBeforeActivation: Bool, context: KernelContext) {
        let m = shape.outputChannels, k = shape.inputChannels
        // Blocks of 4 rows (the kernel's unit), so a split changes no sum.
        let blocks = (m + 3) / 4
        let parts = m * k >= Self.matvecParallelMACs ? min(blocks, context.pool.threadCount * 4) : 1
        matvecWeights.withUnsafeBufferPointer { wb in
        bias.withUnsafeBufferPointerOrNil { biasPointer in
            let w = wb.baseAddress!
            context.pool.parallelFor(batch * parts) { tasks in
            for task in tasks {
                let image = task / parts, part = task % parts
                let x = input + image * k
                let y = output + image * m
                let first = part * blocks / parts * 4, end = min(m, (part + 1) * blocks / parts * 4)
                var o = first
                while o < end {
                    let rows = min(4, end - o)
                    var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                    var acc2 = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                    let w0 = w + o * k
                    let w1 = w + min(o + 1, m - 1) * k, w2 = w + min(o + 2, m - 1) * k, w3 = w + min(o + 3, m - 1) * k
                    var j = 0
                    while j + 16 <= k {
                        let xa = load8(x + j), xb = load8(x + j + 8)
                        acc.0 += load8(w0 + j) * xa; acc2.0 += load8(w0 + j + 8) * xb
                        acc.1 += load8(w1 + j) * xa; acc2.1 += load8(w1 + j + 8) * xb
                        acc.2 += load8(w2 + j) * xa; acc2.2 += load8(w2 + j + 8) * xb
                        acc.3 += load8(w3 + j) * xa; acc2.3 += load8(w3 + j + 8) * xb
                        j += 16
                    }
                    if j + 8 <= k {
                        let xa = load8(x + j)
                        acc.0 += load8(w0 + j) * xa
                        acc.1 += load8(w1 + j) * xa
                        acc.2 += load8(w2 + j) * xa
                        acc.3 += load8(w3 + j) * xa
                        j += 8
                    }
                    var s0 = (acc.0 + acc2.0).sum(), s1 = (acc.1 + acc2.1).sum()
                    var s2 = (acc.2 + acc2.2).sum(), s3 = (acc.3 + acc2.3).sum()
                    while j < k {
                        let xv = x[j]
                        s0 += w0[j] * xv; s1 += w1[j] * xv; s2 += w2[j] * xv; s3 += w3[j] * xv
                        j += 1
                    }
                    for r in 0..<rows {
                        let v = r == 0 ? s0 : r == 1 ? s1 : r == 2 ? s2 : s3
                        y[o + r] = beta == 0 ? v : v + beta * y[o + r]
                    }
                    o += rows
                }
                let epilogue = Epilogue(bias: biasPointer.map { .perRow($0) } ?? .none, activation: activation,
                                        residual: residual.map { $0 + image * m }, residualLeadingDimension: 1,
                                        residualBeforeActivation: residualBeforeActivation)
                epilogue.apply(c: y, ldc: 1, rows: first..<end, columns: 0..<1)
            }
            }
        }
        }
    }
}

extension Optional where Wrapped == [Float] {
    func withUnsafeBufferPointerOrNil<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .none: return body(nil)
        case let .some(array): return array.withUnsafeBufferPointer { body($0.baseAddress) }
        }
    }
}

extension Conv2DShape {
    /// "64→128 3×3/2 g1 @64×64": channels, kernel, stride (when not 1), dilation (when not 1),
    /// groups and input map, for per-step profiles (float, INT8 and tapwise convs alike).
    package var summary: String {
        var text = "\(inputChannels)→\(outputChannels) \(kernelH)×\(kernelW)"
        if strideH != 1 || strideW != 1 { text += strideH == strideW ? "/\(strideH)" : "/\(strideH)×\(strideW)" }
        if dilationH != 1 || dilationW != 1 { text += " d\(dilationH)×\(dilationW)" }
        return text + " g\(groups) @\(height)×\(width)"
    }
}

extension Conv2D {
    /// The shape's summary and the algorithm: "64→128 3×3/2 g1 @64×64 implicitGEMM".
    package var summary: String { "\(shape.summary) \(algorithm)" }
}
