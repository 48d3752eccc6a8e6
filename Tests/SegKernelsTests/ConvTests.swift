import Testing
@testable import SegKernels

/// Naive NCHW convolution in Double with ONNX semantics, then bias/residual/activation.
func referenceConv(_ s: Conv2DShape, batch: Int, x: [Float], w: [Float], bias: [Float]?,
                           activation: Activation, residual: [Float]?, before: Bool) -> [Float] {
    let oh = s.outputHeight, ow = s.outputWidth
    let cinG = s.inputChannels / s.groups, coutG = s.outputChannels / s.groups
    var out = [Float](repeating: 0, count: batch * s.outputChannels * oh * ow)
    for n in 0..<batch {
        for co in 0..<s.outputChannels {
            let g = co / coutG
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var sum = Double(bias?[co] ?? 0)
                    for ci in 0..<cinG {
                        for ky in 0..<s.kernelH {
                            for kx in 0..<s.kernelW {
                                let iy = oy * s.strideH - s.pads.top + ky * s.dilationH
                                let ix = ox * s.strideW - s.pads.left + kx * s.dilationW
                                guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
                                let xv = x[((n * s.inputChannels + g * cinG + ci) * s.height + iy) * s.width + ix]
                                let wv = w[((co * cinG + ci) * s.kernelH + ky) * s.kernelW + kx]
                                sum += Double(xv) * Double(wv)
                            }
                        }
                    }
                    let index = ((n * s.outputChannels + co) * oh + oy) * ow + ox
                    if let residual, before { sum += Double(residual[index]) }
                    sum = referenceActivation(activation, sum)
                    if let residual, !before { sum += Double(residual[index]) }
                    out[index] = Float(sum)
                }
            }
        }
    }
    return out
}

@Suite struct ConvTests {
    /// (shape, expected algorithm): pointwise, depthwise 3×3/5×5 strides 1–2 with dilation,
    /// implicit GEMM with odd kernels, pads, dilations and groups, and 1×1 spatial inputs.
    static let cases: [(Conv2DShape, Conv2D.Algorithm)] = [
        (Conv2DShape(inputChannels: 5, height: 3, width: 7, outputChannels: 7, kernelH: 1, kernelW: 1), .pointwise),
        (Conv2DShape(inputChannels: 4, height: 1, width: 1, outputChannels: 6, kernelH: 1, kernelW: 1, groups: 2), .pointwise),
        // 1×1 maps, groups 1: the matrix-vector path (Cin tails of 16/8/scalar, Cout not a multiple of 4).
        (Conv2DShape(inputChannels: 61, height: 1, width: 1, outputChannels: 7, kernelH: 1, kernelW: 1), .pointwise),
        (Conv2DShape(inputChannels: 3, height: 1, width: 1, outputChannels: 9, kernelH: 1, kernelW: 1), .pointwise),
        (Conv2DShape(inputChannels: 32, height: 1, width: 1, outputChannels: 4, kernelH: 1, kernelW: 1), .pointwise),
        // Eight small groups (a multiple of the two-thread pool's tasks): the groups run in parallel.
        (Conv2DShape(inputChannels: 16, height: 5, width: 7, outputChannels: 48, kernelH: 3, kernelW: 3,
                     pads: (1, 1, 1, 1), groups: 8), .implicitGEMM),
        // A matvec large enough to split its row blocks over the threads (150 rows: the last part ends mid-block).
        (Conv2DShape(inputChannels: 241, height: 1, width: 1, outputChannels: 150, kernelH: 1, kernelW: 1), .pointwise),
        (Conv2DShape(inputChannels: 3, height: 9, width: 11, outputChannels: 17, kernelH: 3, kernelW: 3,
                     strides: (2, 2), pads: (1, 1, 1, 1)), .implicitGEMM),
        (Conv2DShape(inputChannels: 6, height: 7, width: 5, outputChannels: 4, kernelH: 3, kernelW: 2,
                     strides: (1, 2), pads: (2, 0, 1, 1), dilations: (2, 1), groups: 2), .implicitGEMM),
        (Conv2DShape(inputChannels: 4, height: 5, width: 5, outputChannels: 3, kernelH: 1, kernelW: 1, strides: (2, 2)), .implicitGEMM),
        (Conv2DShape(inputChannels: 3, height: 9, width: 21, outputChannels: 3, kernelH: 3, kernelW: 3,
                     pads: (1, 1, 1, 1), groups: 3), .depthwise),
        (Conv2DShape(inputChannels: 2, height: 11, width: 37, outputChannels: 2, kernelH: 3, kernelW: 3,
                     strides: (2, 2), pads: (1, 1, 1, 1), groups: 2), .depthwise),
        (Conv2DShape(inputChannels: 3, height: 13, width: 9, outputChannels: 3, kernelH: 5, kernelW: 5,
                     strides: (2, 2), pads: (2, 2, 2, 2), groups: 3), .depthwise),
        (Conv2DShape(inputChannels: 2, height: 10, width: 19, outputChannels: 2, kernelH: 5, kernelW: 5,
                     pads: (2, 2, 2, 2), groups: 2), .depthwise),
        (Conv2DShape(inputChannels: 2, height: 9, width: 12, outputChannels: 2, kernelH: 3, kernelW: 3,
                     pads: (2, 2, 2, 2), dilations: (2, 2), groups: 2), .depthwise),
        (Conv2DShape(inputChannels: 3, height: 1, width: 1, outputChannels: 3, kernelH: 3, kernelW: 3,
                     pads: (1, 1, 1, 1), groups: 3), .depthwise),
        (Conv2DShape(inputChannels: 2, height: 6, width: 6, outputChannels: 4, kernelH: 3, kernelW: 3,
                     pads: (1, 1, 1, 1), groups: 2), .implicitGEMM),
        // Wide rows: im2col panels of 16 columns inside one output row (SIMD copies for
        // strides 1 and 2), straddling two rows, touching the left/right padding.
        (Conv2DShape(inputChannels: 3, height: 11, width: 66, outputChannels: 16, kernelH: 3, kernelW: 3,
                     strides: (2, 2), pads: (1, 1, 1, 1)), .implicitGEMM),
        (Conv2DShape(inputChannels: 2, height: 7, width: 64, outputChannels: 5, kernelH: 3, kernelW: 3,
                     strides: (2, 2)), .implicitGEMM),
        (Conv2DShape(inputChannels: 3, height: 6, width: 40, outputChannels: 7, kernelH: 3, kernelW: 3,
                     pads: (1, 1, 1, 1)), .implicitGEMM),
        // Wide depthwise rows: stride-2 phase split over many vectors, partial last vectors.
        (Conv2DShape(inputChannels: 4, height: 9, width: 70, outputChannels: 4, kernelH: 3, kernelW: 3,
                     strides: (2, 2), pads: (1, 1, 1, 1), groups: 4), .depthwise),
        (Conv2DShape(inputChannels: 3, height: 8, width: 45, outputChannels: 3, kernelH: 5, kernelW: 5,
                     strides: (2, 2), pads: (2, 2, 2, 2), groups: 3), .depthwise),
        (Conv2DShape(inputChannels: 3, height: 7, width: 30, outputChannels: 3, kernelH: 3, kernelW: 3,
                     pads: (1, 1, 1, 1), groups: 3), .depthwise),
        // Stride 2 read straight from the rows: TF-style asymmetric SAME pads (none before,
        // one after), several interior vectors between staged edge vectors, a 7-wide kernel
        // (an odd tap without a partner), odd widths and heights.
        (Conv2DShape(inputChannels: 2, height: 9, width: 131, outputChannels: 2, kernelH: 3, kernelW: 3,
                     strides: (2, 2), pads: (0, 0, 1, 1), groups: 2), .depthwise),
        (Conv2DShape(inputChannels: 2, height: 12, width: 97, outputChannels: 2, kernelH: 7, kernelW: 7,
                     strides: (2, 2), pads: (3, 3, 3, 3), groups: 2), .depthwise),
        (Conv2DShape(inputChannels: 3, height: 6, width: 16, outputChannels: 3, kernelH: 5, kernelW: 3,
                     strides: (2, 2), pads: (2, 1, 1, 0), groups: 3), .depthwise),
        // Winograd F(2×2, 3×3): odd output sizes (half tiles), vector groups of eight tiles
        // and scalar edges, no padding, asymmetric padding, channel counts not a multiple of 6.
        (Conv2DShape(inputChannels: 8, height: 9, width: 37, outputChannels: 8, kernelH: 3, kernelW: 3,
                     pads: (1, 1, 1, 1)), .winograd),
        (Conv2DShape(inputChannels: 12, height: 16, width: 40, outputChannels: 10, kernelH: 3, kernelW: 3), .winograd),
        (Conv2DShape(inputChannels: 9, height: 10, width: 21, outputChannels: 16, kernelH: 3, kernelW: 3,
                     pads: (1, 0, 0, 1)), .winograd),
        // 130 tiles: three blocks of 64, re-split into four of 40 on two threads at batch 1.
        (Conv2DShape(inputChannels: 8, height: 20, width: 26, outputChannels: 8, kernelH: 3, kernelW: 3,
                     pads: (1, 1, 1, 1)), .winograd),
        // One block of 35 tiles and 50 output channels: on two threads the input transform splits
        // by input channels, the GEMMs and the output transform by pairs of six-row panels.
        (Conv2DShape(inputChannels: 7, height: 9, width: 14, outputChannels: 50, kernelH: 3, kernelW: 3,
                     pads: (1, 1, 1, 1)), .winograd),
        (Conv2DShape(inputChannels: 8, height: 9, width: 37, outputChannels: 8, kernelH: 3, kernelW: 3,
                     strides: (2, 2), pads: (1, 1, 1, 1)), .implicitGEMM),
        // Dilation as large as the map (DeepLab ASPP): row bands over the valid kernel rows,
        // stride 1 and 2, asymmetric pads.
        (Conv2DShape(inputChannels: 3, height: 9, width: 20, outputChannels: 7, kernelH: 3, kernelW: 3,
                     pads: (4, 4, 4, 4), dilations: (4, 4)), .implicitGEMM),
        (Conv2DShape(inputChannels: 5, height: 11, width: 19, outputChannels: 6, kernelH: 3, kernelW: 3,
                     strides: (2, 1), pads: (6, 2, 5, 2), dilations: (5, 2)), .implicitGEMM),
        // More input rows than the im2col copy reads side by side (channels × kernel rows >
        // 32: depth rows outermost): stride 2 with runs straddling output rows and touching the
        // padding, on the GEMM (20 output channels; K = 360 in two depth blocks) and on the
        // AVX-512 panels (16 output channels); stride 1 with dilation.
        (Conv2DShape(inputChannels: 40, height: 13, width: 37, outputChannels: 20, kernelH: 3, kernelW: 3,
                     strides: (2, 2), pads: (1, 1, 1, 1)), .implicitGEMM),
        (Conv2DShape(inputChannels: 12, height: 9, width: 45, outputChannels: 16, kernelH: 3, kernelW: 3,
                     strides: (2, 2), pads: (1, 0, 1, 2)), .implicitGEMM),
        (Conv2DShape(inputChannels: 12, height: 8, width: 21, outputChannels: 16, kernelH: 3, kernelW: 3,
                     strides: (2, 2)), .implicitGEMM),
        (Conv2DShape(inputChannels: 14, height: 10, width: 9, outputChannels: 9, kernelH: 3, kernelW: 3,
                     pads: (2, 2, 2, 2), dilations: (2, 2)), .implicitGEMM),
        // B read in place on the GEMM's 512-bit tiles: 32 columns where two panels in a row can
        // be read in place, 16 where one can; 26 and 31 output channels leave a partial and a
        // full-plus-partial six-row panel after the twelve-row pairs.
        (Conv2DShape(inputChannels: 6, height: 5, width: 70, outputChannels: 26, kernelH: 3, kernelW: 3,
                     pads: (1, 1, 1, 1)), .implicitGEMM),
        (Conv2DShape(inputChannels: 5, height: 6, width: 64, outputChannels: 31, kernelH: 3, kernelW: 3,
                     pads: (1, 1, 1, 1)), .implicitGEMM),
    ] + parityCases.map { ($0, .implicitGEMM) } + narrowCases.map { ($0, .implicitGEMM) }
        + laneSweepCases.map { ($0, .implicitGEMM) }

    /// A few output channels (not a multiple of eight) over a deep input, on the AVX-512
    /// kernel with channels across the lanes (`NarrowOutputConv`): one vector with a row tail
    /// that overlaps the block before it, two vectors with stride 2, dilation and asymmetric
    /// pads, and a map exactly one twelve-pixel block wide.
    static let narrowCases = [
        Conv2DShape(inputChannels: 64, height: 9, width: 25, outputChannels: 11, kernelH: 3, kernelW: 3,
                    pads: (1, 1, 1, 1)),
        Conv2DShape(inputChannels: 60, height: 8, width: 30, outputChannels: 19, kernelH: 3, kernelW: 3,
                    strides: (2, 2), pads: (1, 0, 2, 1), dilations: (1, 2)),
        Conv2DShape(inputChannels: 128, height: 5, width: 13, outputChannels: 3, kernelH: 2, kernelW: 2),
    ]

    /// The cases above reach the narrow-output kernel wherever the CPU has AVX-512; the GEMM
    /// keeps shallower convs and channel counts the eight-channel sweeps take.
    @Test func narrowCasesTakeTheNarrowOutputKernel() throws {
        try Self.expectInPlacePath(Self.narrowCases, \.usesNarrowOutputKernel)
        let shallow = Conv2DShape(inputChannels: 16, height: 9, width: 25, outputChannels: 11, kernelH: 3, kernelW: 3)
        let sixteen = Conv2DShape(inputChannels: 64, height: 9, width: 25, outputChannels: 16, kernelH: 3, kernelW: 3)
        for shape in [shallow, sixteen] {
            let w = randomValues(shape.outputChannels * shape.inputChannels * 9, seed: 3)
            #expect(try !Conv2D(shape: shape, weights: w, bias: nil).usesNarrowOutputKernel, "\(shape)")
        }
    }

    /// Dense convs swept over the flattened padded positions on the channels-across-lanes kernel
    /// (`LaneSweepConv`): one 32-channel block whose tiles straddle output rows and overrun the
    /// last one, 32 + 16 channels (the last block one vector) with asymmetric pads, a 5×5
    /// kernel over two blocks with a partial last depth block, a map smaller than one tile, and
    /// stride 2 over the phase planes (odd and even padded sizes, asymmetric pads, 3×3 and 4×4).
    static let laneSweepCases = [
        Conv2DShape(inputChannels: 64, height: 11, width: 15, outputChannels: 32, kernelH: 3, kernelW: 3,
                    strides: (2, 2), pads: (1, 1, 1, 1)),
        Conv2DShape(inputChannels: 36, height: 10, width: 13, outputChannels: 48, kernelH: 4, kernelW: 4,
                    strides: (2, 2), pads: (2, 1, 0, 2)),
        // Rows wide enough for the vector de-interleave (two vectors per phase row).
        Conv2DShape(inputChannels: 32, height: 5, width: 41, outputChannels: 32, kernelH: 3, kernelW: 3,
                    strides: (2, 2), pads: (1, 1, 1, 1)),
        Conv2DShape(inputChannels: 64, height: 9, width: 13, outputChannels: 32, kernelH: 3, kernelW: 3,
                    pads: (1, 1, 1, 1)),
        Conv2DShape(inputChannels: 60, height: 7, width: 11, outputChannels: 48, kernelH: 3, kernelW: 3,
                    pads: (1, 0, 2, 1)),
        Conv2DShape(inputChannels: 41, height: 6, width: 9, outputChannels: 64, kernelH: 5, kernelW: 5,
                    pads: (2, 2, 2, 2)),
        Conv2DShape(inputChannels: 130, height: 4, width: 4, outputChannels: 32, kernelH: 2, kernelW: 2),
    ]

    /// The cases above reach the lane sweep wherever the CPU has AVX-512; unequal strides,
    /// dilated and shallow convs, and stride 2 onto more than 4096 output pixels keep their paths.
    @Test func laneSweepCasesTakeTheLaneSweepKernel() throws {
        try Self.expectInPlacePath(Self.laneSweepCases, \.usesLaneSweepKernel)
        let others = [
            Conv2DShape(inputChannels: 64, height: 9, width: 13, outputChannels: 32, kernelH: 3, kernelW: 3,
                        strides: (2, 1), pads: (1, 1, 1, 1)),
            Conv2DShape(inputChannels: 64, height: 9, width: 13, outputChannels: 32, kernelH: 3, kernelW: 3,
                        pads: (2, 2, 2, 2), dilations: (2, 2)),
            Conv2DShape(inputChannels: 16, height: 9, width: 13, outputChannels: 32, kernelH: 3, kernelW: 3,
                        pads: (1, 1, 1, 1)),
            Conv2DShape(inputChannels: 32, height: 140, width: 130, outputChannels: 32, kernelH: 3, kernelW: 3,
                        strides: (2, 2), pads: (1, 1, 1, 1)),
        ]
        for shape in others {
            let w = randomValues(shape.outputChannels * shape.inputChannels * 9, seed: 3)
            #expect(try !Conv2D(shape: shape, weights: w, bias: nil).usesLaneSweepKernel, "\(shape)")
        }
    }

    /// Stride 2 along W with few input rows, on the AVX-512 kernel through the even/odd column
    /// planes (`ParityAVX512`): a ResNet-like 7×7/2 stem with odd and even input widths,
    /// stride 1 along H with dilation and asymmetric pads, no padding with three channel groups.
    static let parityCases = [
        Conv2DShape(inputChannels: 3, height: 40, width: 70, outputChannels: 16, kernelH: 7, kernelW: 7,
                    strides: (2, 2), pads: (3, 3, 3, 3)),
        Conv2DShape(inputChannels: 3, height: 38, width: 69, outputChannels: 8, kernelH: 7, kernelW: 7,
                    strides: (2, 2), pads: (3, 3, 3, 3)),
        Conv2DShape(inputChannels: 2, height: 9, width: 75, outputChannels: 8, kernelH: 3, kernelW: 3,
                    strides: (1, 2), pads: (0, 1, 2, 0), dilations: (2, 3)),
        Conv2DShape(inputChannels: 4, height: 7, width: 67, outputChannels: 24, kernelH: 5, kernelW: 5,
                    strides: (2, 2)),
    ]

    /// The cases above reach the parity path wherever the CPU has the AVX-512 kernel.
    @Test func parityCasesTakeTheParityKernel() throws {
        try Self.expectInPlacePath(Self.parityCases, \.usesParityKernel)
    }

    /// Each shape takes the path `takes` reports wherever the CPU has the AVX-512 kernels, and
    /// never with the in-place paths switched off (`SEGSLIM_DIRECT=0`).
    static func expectInPlacePath(_ shapes: [Conv2DShape], _ takes: KeyPath<Conv2D, Bool>) throws {
        for shape in shapes {
            let w = randomValues(shape.outputChannels * shape.inputChannels * shape.kernelH * shape.kernelW, seed: 7)
            let conv = try Conv2D(shape: shape, weights: w, bias: nil, activation: .relu)
            #expect(conv[keyPath: takes] == KernelISA.hasVNNI, "\(shape)")
            var off = KernelOptions.standard
            off.directConv = false
            #expect(try !Conv2D(shape: shape, weights: w, bias: nil, activation: .relu, options: off)[keyPath: takes])
        }
    }

    @Test(arguments: contexts.indices)
    func matchesNaiveConvolution(_ contextIndex: Int) throws {
        let context = contexts[contextIndex]
        for (caseIndex, (shape, algorithm)) in Self.cases.enumerated() {
            let batch = 2
            let weightCount = shape.outputChannels * shape.inputChannels / shape.groups * shape.kernelH * shape.kernelW
            let x = randomValues(batch * shape.inputChannels * shape.height * shape.width, seed: UInt64(caseIndex) + 10)
            let w = randomValues(weightCount, seed: UInt64(caseIndex) + 20)
            let bias = randomValues(shape.outputChannels, seed: UInt64(caseIndex) + 30)
            let outCount = batch * shape.outputChannels * shape.outputHeight * shape.outputWidth
            let residual = randomValues(outCount, seed: UInt64(caseIndex) + 40)
            for activation in [Activation.none, .relu, .hardSwish] {
                // Winograd cases are kept small (debug builds): below its channel threshold,
                // so it is asked for explicitly.
                let conv = try Conv2D(shape: shape, weights: w, bias: bias, activation: activation,
                                      winograd: algorithm == .winograd ? true : nil)
                #expect(conv.algorithm == algorithm, "case \(caseIndex)")
                for (useResidual, before) in [(false, true), (true, true), (true, false)] {
                    var y = [Float](repeating: .nan, count: outCount)
                    try residual.withUnsafeBufferPointer { res in
                        try conv.run(input: x, batch: batch, output: &y, residual: useResidual ? res.baseAddress : nil,
                                     residualBeforeActivation: before, context: context)
                    }
                    let expected = referenceConv(shape, batch: batch, x: x, w: w, bias: bias, activation: activation,
                                                 residual: useResidual ? residual : nil, before: before)
                    // Float sums over K terms drift from the double reference by about √K ulps of
                    // the partial sums: the absolute tolerance grows with depth past 64 (the
                    // portable kernel's 540-term sums land 1.4e-5 from a -0.0148 result).
                    let depth = shape.inputChannels / shape.groups * shape.kernelH * shape.kernelW
                    expectClose(y, expected, atol: 1e-5 * max(1, Float(depth / 64).squareRoot()),
                                "conv case \(caseIndex) \(activation) residual=\(useResidual) before=\(before) \(describe(context))")
                }
            }
        }
    }

    /// Depthwise rows on 16 lanes (AVX-512) give the 8-lane AVX2 path's values bit for bit: the
    /// same fused multiply-adds per lane in the same order, the same epilogue operations; rows
    /// that end mid-vector (masks), dilation, stride 3 through the phase split, stride 2 through
    /// the ring of padded rows, a residual.
    @Test func depthwiseSixteenLaneRowsMatchTheEightLaneOnes() throws {
        guard KernelISA.avx2.isAvailable && KernelISA.hasVNNI else { return }
        let shapes = [
            Conv2DShape(inputChannels: 3, height: 9, width: 37, outputChannels: 3, kernelH: 3, kernelW: 3, pads: (1, 1, 1, 1), groups: 3),
            Conv2DShape(inputChannels: 2, height: 8, width: 30, outputChannels: 2, kernelH: 5, kernelW: 5,
                        pads: (4, 4, 4, 4), dilations: (2, 2), groups: 2),
            Conv2DShape(inputChannels: 2, height: 7, width: 70, outputChannels: 2, kernelH: 3, kernelW: 3,
                        strides: (3, 3), pads: (1, 1, 1, 1), groups: 2),
            // Stride 2 through the ring of padded rows: an odd kernel width (a lone last tap),
            // asymmetric pads, outputs 47 and 16 wide (two vectors and a partial one; exactly one).
            Conv2DShape(inputChannels: 2, height: 9, width: 95, outputChannels: 2, kernelH: 5, kernelW: 5,
                        strides: (2, 2), pads: (2, 1, 2, 2), groups: 2),
            Conv2DShape(inputChannels: 3, height: 6, width: 32, outputChannels: 3, kernelH: 3, kernelW: 3,
                        strides: (2, 2), pads: (1, 1, 1, 1), groups: 3),
            // Blocks of several rows: one vector per row over 11 rows (8 + 3), four vectors and a
            // second 64-column chunk over 5 rows (2 + 2 + 1), 5×5 with dilation on 2 vectors × 7 rows.
            Conv2DShape(inputChannels: 2, height: 11, width: 15, outputChannels: 2, kernelH: 3, kernelW: 3, pads: (1, 1, 1, 1), groups: 2),
            Conv2DShape(inputChannels: 2, height: 5, width: 121, outputChannels: 2, kernelH: 3, kernelW: 3, pads: (1, 1, 1, 1), groups: 2),
            Conv2DShape(inputChannels: 2, height: 7, width: 30, outputChannels: 2, kernelH: 5, kernelW: 5,
                        pads: (4, 4, 4, 4), dilations: (2, 2), groups: 2),
        ]
        for (index, shape) in shapes.enumerated() {
            let x = randomValues(shape.inputChannels * shape.height * shape.width, seed: 70 + UInt64(index))
            let w = randomValues(shape.outputChannels * shape.kernelH * shape.kernelW, seed: 80 + UInt64(index))
            let bias = randomValues(shape.outputChannels, seed: 90)
            let outCount = shape.outputChannels * shape.outputHeight * shape.outputWidth
            let residual = randomValues(outCount, seed: 91)
            for activation in [Activation.relu, .hardSwish, .clip(min: -0.5, max: 0.5)] {
                let conv = try Conv2D(shape: shape, weights: w, bias: bias, activation: activation)
                #expect(conv.algorithm == .depthwise)
                var results: [[Float]] = []
                for wide in [false, true] {
                    var options = KernelOptions.standard
                    options.depthwiseAVX512 = wide
                    var y = [Float](repeating: .nan, count: outCount)
                    try residual.withUnsafeBufferPointer { r in
                        try conv.run(input: x, batch: 1, output: &y, residual: r.baseAddress, residualBeforeActivation: false,
                                     context: KernelContext(pool: ThreadPool(threadCount: 1), isa: .avx2, options: options))
                    }
                    results.append(y)
                }
                #expect(results[0] == results[1], "depthwise shape \(index) \(activation)")
                // The residual may be the output buffer itself (each vector reads its residual
                // before its own store; rows of a block never overlap).
                var inPlace = residual
                try inPlace.withUnsafeMutableBufferPointer { y in
                    try conv.run(input: x, batch: 1, output: y.baseAddress!, residual: UnsafePointer(y.baseAddress!), residualBeforeActivation: false,
                                 context: KernelContext(pool: ThreadPool(threadCount: 1), isa: .avx2, options: .standard))
                }
                #expect(inPlace == results[1], "depthwise shape \(index) \(activation) in place")
            }
        }
    }

    /// Winograd's transforms on 16 lanes (AVX-512, masked edges) give the 8-lane path's floats
    /// bit for bit: the same adds in the same order, the same epilogue. Tile rows of 35 tiles
    /// (two groups of sixteen and a partial one), maps narrower than one group, odd sizes
    /// (half tiles at the right and bottom), no padding and asymmetric padding, blocks that
    /// span tile rows, one and two images (one image's single block split by channels), a
    /// residual before and after, accumulation onto the output,
    /// and an activation the 512-bit epilogue lacks (sigmoid: the 8-lane output transform).
    @Test func winogradSixteenTileTransformsMatchTheEightTileOnes() throws {
        guard KernelISA.avx2.isAvailable && KernelISA.hasVNNI else { return }
        let shapes = [
            Conv2DShape(inputChannels: 8, height: 9, width: 70, outputChannels: 8, kernelH: 3, kernelW: 3, pads: (1, 1, 1, 1)),
            Conv2DShape(inputChannels: 12, height: 13, width: 21, outputChannels: 10, kernelH: 3, kernelW: 3),
            Conv2DShape(inputChannels: 9, height: 10, width: 37, outputChannels: 16, kernelH: 3, kernelW: 3, pads: (1, 0, 0, 1)),
            Conv2DShape(inputChannels: 8, height: 20, width: 26, outputChannels: 8, kernelH: 3, kernelW: 3, pads: (0, 1, 1, 0)),
            // One image whose tiles fit one block: split by channels on the two threads.
            Conv2DShape(inputChannels: 7, height: 9, width: 14, outputChannels: 50, kernelH: 3, kernelW: 3, pads: (1, 1, 1, 1)),
        ]
        for (index, shape) in shapes.enumerated() {
            let batch = index % 2 == 0 ? 2 : 1
            let weightCount = shape.outputChannels * shape.inputChannels * 9
            let x = randomValues(batch * shape.inputChannels * shape.height * shape.width, seed: 170 + UInt64(index))
            let w = randomValues(weightCount, seed: 180 + UInt64(index))
            let bias = randomValues(shape.outputChannels, seed: 190)
            let outCount = batch * shape.outputChannels * shape.outputHeight * shape.outputWidth
            let residual = randomValues(outCount, seed: 191)
            for activation in [Activation.relu, .hardSwish, .clip(min: -0.5, max: 0.5), .sigmoid] {
                let conv = try Conv2D(shape: shape, weights: w, bias: bias, activation: activation, winograd: true)
                #expect(conv.algorithm == .winograd)
                for (before, inPlace) in [(true, false), (false, false), (true, true)] {
                    var results: [[Float]] = []
                    for wide in [false, true] {
                        var options = KernelOptions.standard
                        options.winogradAVX512 = wide
                        let context = KernelContext(pool: ThreadPool(threadCount: 2), isa: .avx2, options: options)
                        var y = inPlace ? residual : [Float](repeating: .nan, count: outCount)
                        try residual.withUnsafeBufferPointer { r in
                            try y.withUnsafeMutableBufferPointer { out in
                                // In place: the residual is the output itself (the transform accumulates).
                                let res = inPlace ? UnsafePointer(out.baseAddress!) : r.baseAddress
                                try conv.run(input: x, batch: batch, output: out.baseAddress!, residual: res,
                                             residualBeforeActivation: before, context: context)
                            }
                        }
                        results.append(y)
                    }
                    #expect(results[0] == results[1], "Winograd shape \(index) \(activation) before \(before) in place \(inPlace)")
                    let expected = referenceConv(shape, batch: batch, x: x, w: w, bias: bias, activation: activation,
                                                 residual: residual, before: before || inPlace)
                    expectClose(results[1], expected, "Winograd shape \(index) \(activation) against the reference")
                }
            }
        }
    }

    @Test(arguments: contexts.indices)
    func residualMayBeTheOutputBuffer(_ contextIndex: Int) throws {
        for (caseIndex, (shape, algorithm)) in Self.cases.enumerated() {
            let weightCount = shape.outputChannels * shape.inputChannels / shape.groups * shape.kernelH * shape.kernelW
            let x = randomValues(shape.inputChannels * shape.height * shape.width, seed: 50)
            let w = randomValues(weightCount, seed: 51)
            let old = randomValues(shape.outputChannels * shape.outputHeight * shape.outputWidth, seed: 52)
            let conv = try Conv2D(shape: shape, weights: w, bias: nil, activation: .relu, winograd: algorithm == .winograd ? true : nil)
            #expect(conv.algorithm == algorithm, "case \(caseIndex)")
            var y = old
            try y.withUnsafeMutableBufferPointer { y in
                try conv.run(input: x, batch: 1, output: y.baseAddress!, residual: UnsafePointer(y.baseAddress!),
                             context: contexts[contextIndex])
            }
            let expected = referenceConv(shape, batch: 1, x: x, w: w, bias: nil, activation: .relu, residual: old, before: true)
            expectClose(y, expected, "in-place residual case \(caseIndex) \(describe(contexts[contextIndex]))")
        }
    }

    @Test func invalidShapesThrowNamingTheParameter() {
        let w = [Float](repeating: 1, count: 64)
        func attempt(_ shape: Conv2DShape) -> KernelError? {
            do { _ = try Conv2D(shape: shape, weights: w, bias: nil); return nil } catch { return error }
        }
        let grouped = attempt(Conv2DShape(inputChannels: 3, height: 4, width: 4, outputChannels: 4, kernelH: 1, kernelW: 1, groups: 2))
        #expect(grouped.map { "\($0)".contains("groups") } == true)
        let stride = attempt(Conv2DShape(inputChannels: 1, height: 4, width: 4, outputChannels: 1, kernelH: 1, kernelW: 1, strides: (0, 1)))
        #expect(stride.map { "\($0)".contains("strideH") } == true)
        let tooBig = attempt(Conv2DShape(inputChannels: 1, height: 2, width: 2, outputChannels: 1, kernelH: 5, kernelW: 5))
        #expect(tooBig.map { "\($0)".contains("output size") } == true)
        let pad = attempt(Conv2DShape(inputChannels: 1, height: 4, width: 4, outputChannels: 1, kernelH: 3, kernelW: 3, pads: (-1, 0, 0, 0)))
        #expect(pad.map { "\($0)".contains("padTop") } == true)
    }
}

@Suite struct WinogradChoiceTests {
    /// The shape rule: wide enough channel counts on a large map take Winograd; narrow ones,
    /// strided, dilated or grouped 3×3 convs do not.
    /// Blocks split over threads evenly where a few big ones would not (hand-computed).
    @Test func blocksSpreadOverThreads() {
        // LinkNet's 256→256 at 24×30: 180 tiles; 3 blocks of 64 → 4 of 48 on two threads.
        #expect(WinogradConv3x3.blocking(tiles: 180, maxTiles: 64, batch: 1, threads: 2) == (48, 4))
        #expect(WinogradConv3x3.blocking(tiles: 180, maxTiles: 64, batch: 1, threads: 1) == (64, 3))
        // Already even, or enough blocks to balance: unchanged.
        #expect(WinogradConv3x3.blocking(tiles: 128, maxTiles: 64, batch: 1, threads: 2) == (64, 2))
        #expect(WinogradConv3x3.blocking(tiles: 2880, maxTiles: 64, batch: 1, threads: 2) == (64, 45))
        #expect(WinogradConv3x3.blocking(tiles: 180, maxTiles: 64, batch: 2, threads: 2) == (64, 3))
        // Batch 3 on two threads: images do not balance, each image's tiles spread evenly.
        #expect(WinogradConv3x3.blocking(tiles: 130, maxTiles: 64, batch: 3, threads: 2) == (48, 3))
        // One block's worth on two threads: two halves.
        #expect(WinogradConv3x3.blocking(tiles: 40, maxTiles: 64, batch: 1, threads: 2) == (24, 2))
    }

    @Test func picksWinogradOnlyWhereItPays() {
        func shape(_ cin: Int, _ cout: Int, stride: Int = 1, dilation: Int = 1, groups: Int = 1) -> Conv2DShape {
            Conv2DShape(inputChannels: cin, height: 64, width: 64, outputChannels: cout, kernelH: 3, kernelW: 3,
                        strides: (stride, stride), pads: (dilation, dilation, dilation, dilation),
                        dilations: (dilation, dilation), groups: groups)
        }
        #expect(WinogradConv3x3.isProfitable(shape(64, 64)))
        #expect(WinogradConv3x3.isProfitable(shape(256, 256)))
        #expect(!WinogradConv3x3.isProfitable(shape(32, 16)))
        #expect(!WinogradConv3x3.isProfitable(shape(64, 64, stride: 2)))
        #expect(!WinogradConv3x3.isProfitable(shape(64, 64, dilation: 2)))
        #expect(!WinogradConv3x3.isProfitable(shape(64, 64, groups: 2)))
    }

    /// Few output channels: on planes of 128×128 pixels or more the channel ratio may drop to
    /// 16 (UNet-R18's decoder at 192×240: 128→32 and 32→32 on Winograd), below that it stays
    /// 28 (BiSeNetV2's 32→32 at 45×60 keeps the implicit GEMM); 32→16 (ratio 10.7) never.
    @Test(arguments: [(128, 32, 192, 240, true), (32, 32, 192, 240, true), (32, 16, 384, 480, false), (16, 16, 384, 480, false),
                      (32, 32, 45, 60, false), (128, 32, 48, 60, false), (32, 32, 128, 128, true), (32, 32, 127, 128, false)])
    func fewOutputChannelsTakeWinogradOnLargePlanes(cin: Int, cout: Int, height: Int, width: Int, winograd: Bool) {
        let s = Conv2DShape(inputChannels: cin, height: height, width: width, outputChannels: cout, kernelH: 3, kernelW: 3,
                            pads: (1, 1, 1, 1))
        #expect(WinogradConv3x3.isProfitable(s) == winograd)
        var options = KernelOptions.standard
        options.winogradLargePlaneMinChannelRatio = 28
        #expect(!WinogradConv3x3.isProfitable(s, options: options) || cin * cout >= 28 * (cin + cout))
    }

    /// Small maps (STDC's and PP-LiteSeg's 16×16 and 8×8 stages at 256×256 input): with the
    /// transforms on sixteen lanes and one image's single block split by channels over the
    /// threads, Winograd wins down to 8×8 (512→128 at 8×8: 0.93 → 0.40 ms on one thread,
    /// 0.52 → 0.34 on two, against the lane sweep); under eight rows or columns the other kernels keep it.
    @Test(arguments: [(8, 64, true, true), (20, 20, true, true), (16, 16, true, false), (12, 32, true, false),
                      (64, 8, true, false), (8, 8, true, false), (6, 16, false, false), (16, 6, false, false), (4, 4, false, false)])
    func smallMapsKeepTheImplicitGEMM(height: Int, width: Int, sixteenLanes: Bool, eightLanes: Bool) {
        let s = Conv2DShape(inputChannels: 256, height: height, width: width, outputChannels: 128, kernelH: 3, kernelW: 3,
                            pads: (1, 1, 1, 1))
        var options = KernelOptions.standard
        #expect(WinogradConv3x3.isProfitable(s, options: options) == (KernelISA.hasVNNI ? sixteenLanes : eightLanes))
        options.winogradAVX512 = false
        #expect(WinogradConv3x3.isProfitable(s, options: options) == eightLanes)
    }
}

@Suite struct RowBandTests {
    @Test func largeDilationOnASmallMapSplitsIntoRowBands() throws {
        let shape = Conv2DShape(inputChannels: 3, height: 9, width: 20, outputChannels: 7, kernelH: 3, kernelW: 3,
                                pads: (4, 4, 4, 4), dilations: (4, 4))
        let conv = try Conv2D(shape: shape, weights: randomValues(7 * 3 * 9, seed: 1), bias: nil)
        // Rows 0–3 read kernel rows 1–2, row 4 all three, rows 5–8 rows 0–1.
        #expect(conv.rowBands.map(\.rows) == [0..<4, 4..<5, 5..<9])
        #expect(conv.rowBands.map(\.kernelRows) == [1..<3, 0..<3, 0..<2])
        let plain = Conv2DShape(inputChannels: 3, height: 9, width: 20, outputChannels: 7, kernelH: 3, kernelW: 3, pads: (1, 1, 1, 1))
        #expect(try Conv2D(shape: plain, weights: randomValues(7 * 3 * 9, seed: 1), bias: nil).rowBands.isEmpty)
    }
}
