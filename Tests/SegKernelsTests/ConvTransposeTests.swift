import Testing
@testable import SegKernels

/// Naive NCHW transposed convolution in Double, in scatter form (ONNX semantics): input
/// (iy, ix) adds x·w[ci, co, ky, kx] to output (iy·sH − padTop + ky·dH, ix·sW − padLeft + kx·dW),
/// then bias and activation.
private func referenceConvTranspose(_ s: ConvTranspose2DShape, batch: Int, x: [Float], w: [Float], bias: [Float]?,
                                    activation: Activation) -> [Float] {
    let oh = s.outputHeight, ow = s.outputWidth, plane = oh * ow
    let cinG = s.inputChannels / s.groups, coutG = s.outputChannels / s.groups
    var sum = [Double](repeating: 0, count: batch * s.outputChannels * plane)
    for n in 0..<batch {
        for ci in 0..<s.inputChannels {
            let g = ci / cinG
            for m in 0..<coutG {
                let co = g * coutG + m
                for iy in 0..<s.height {
                    for ix in 0..<s.width {
                        let xv = Double(x[((n * s.inputChannels + ci) * s.height + iy) * s.width + ix])
                        for ky in 0..<s.kernelH {
                            for kx in 0..<s.kernelW {
                                let oy = iy * s.strideH - s.padTop + ky * s.dilationH
                                let ox = ix * s.strideW - s.padLeft + kx * s.dilationW
                                guard oy >= 0, oy < oh, ox >= 0, ox < ow else { continue }
                                let wv = Double(w[((ci * coutG + m) * s.kernelH + ky) * s.kernelW + kx])
                                sum[(n * s.outputChannels + co) * plane + oy * ow + ox] += xv * wv
                            }
                        }
                    }
                }
            }
        }
    }
    return sum.enumerated().map { i, v in
        Float(referenceActivation(activation, v + Double(bias?[i / plane % s.outputChannels] ?? 0)))
    }
}

@Suite struct ConvTransposeTests {
    /// Strides 1–3, kernels 1–5, pads, output_padding, dilation 2, groups (incl. depthwise),
    /// non-overlapping (kernel = stride) and kernel < stride (gaps that get bias only).
    static let cases: [ConvTranspose2DShape] = [
        ConvTranspose2DShape(inputChannels: 3, height: 4, width: 5, outputChannels: 4, kernelH: 3, kernelW: 3),
        ConvTranspose2DShape(inputChannels: 5, height: 6, width: 7, outputChannels: 6, kernelH: 4, kernelW: 4,
                             strides: (2, 2), pads: (1, 1, 1, 1)),
        ConvTranspose2DShape(inputChannels: 4, height: 5, width: 3, outputChannels: 3, kernelH: 2, kernelW: 2, strides: (2, 2)),
        ConvTranspose2DShape(inputChannels: 2, height: 3, width: 4, outputChannels: 5, kernelH: 3, kernelW: 2,
                             strides: (3, 2), pads: (1, 0, 2, 1), outputPadding: (2, 1)),
        ConvTranspose2DShape(inputChannels: 3, height: 4, width: 4, outputChannels: 2, kernelH: 3, kernelW: 3,
                             strides: (2, 1), pads: (2, 1, 1, 2), dilations: (2, 2)),
        ConvTranspose2DShape(inputChannels: 4, height: 3, width: 5, outputChannels: 6, kernelH: 3, kernelW: 3,
                             strides: (2, 2), pads: (1, 1, 1, 1), outputPadding: (1, 1), groups: 2),
        ConvTranspose2DShape(inputChannels: 3, height: 5, width: 4, outputChannels: 3, kernelH: 4, kernelW: 4,
                             strides: (2, 2), pads: (1, 1, 1, 1), groups: 3),
        ConvTranspose2DShape(inputChannels: 2, height: 3, width: 3, outputChannels: 3, kernelH: 2, kernelW: 1,
                             strides: (3, 3), outputPadding: (2, 2)),
        ConvTranspose2DShape(inputChannels: 3, height: 2, width: 9, outputChannels: 2, kernelH: 1, kernelW: 3,
                             strides: (1, 3), pads: (0, 2, 0, 0)),
        // Rows wide enough for the SIMD add (stride 1), and wide strided ones.
        ConvTranspose2DShape(inputChannels: 3, height: 3, width: 21, outputChannels: 2, kernelH: 3, kernelW: 3, pads: (1, 1, 1, 1)),
        ConvTranspose2DShape(inputChannels: 2, height: 3, width: 19, outputChannels: 3, kernelH: 4, kernelW: 4,
                             strides: (2, 2), pads: (1, 1, 1, 1)),
        ConvTranspose2DShape(inputChannels: 2, height: 2, width: 18, outputChannels: 2, kernelH: 3, kernelW: 5,
                             strides: (2, 2), pads: (0, 3, 1, 2), outputPadding: (1, 1)),
    ]

    @Test(arguments: cases.indices)
    func matchesTheScatterReference(_ index: Int) throws {
        let s = Self.cases[index]
        for (batch, withBias, activation) in [(1, true, Activation.none), (2, false, .relu), (2, true, .sigmoid)] {
            let x = randomValues(batch * s.inputChannels * s.height * s.width, seed: UInt64(index * 7 + batch))
            let w = randomValues(s.inputChannels * s.outputChannels / s.groups * s.kernelH * s.kernelW, seed: UInt64(index + 100))
            let bias = withBias ? randomValues(s.outputChannels, seed: UInt64(index + 200)) : nil
            let expected = referenceConvTranspose(s, batch: batch, x: x, w: w, bias: bias, activation: activation)
            for context in contexts {
                // Default bands (one for these sizes) and one input row per band.
                for bandFloats in [1 << 18, 1] {
                    let kernel = try w.withUnsafeBufferPointer { wp in
                        try bias.withUnsafeBufferPointerOrNil { bp in
                            Result { try ConvTranspose2D(shape: s, weights: wp.baseAddress!, bias: bp, activation: activation) }
                        }.get()
                    }
                    kernel.bandFloats = bandFloats
                    var y = [Float](repeating: .nan, count: batch * s.outputChannels * s.outputHeight * s.outputWidth)
                    try x.withUnsafeBufferPointer { xp in
                        try y.withUnsafeMutableBufferPointer { yp in
                            try kernel.run(input: xp.baseAddress!, batch: batch, output: yp.baseAddress!, context: context)
                        }
                    }
                    expectClose(y, expected, "case \(index) batch \(batch) bias \(withBias) \(activation) \(describe(context)) bands \(bandFloats)")
                }
            }
        }
    }

    /// An output larger than the natural size (ONNX `output_shape`): the extra rows and
    /// columns hold the bias alone.
    @Test func largerOutputGetsBiasOnly() throws {
        var s = ConvTranspose2DShape(inputChannels: 2, height: 3, width: 3, outputChannels: 2, kernelH: 3, kernelW: 3, strides: (2, 2))
        s.outputHeight += 1
        s.outputWidth += 1
        let x = randomValues(2 * 9, seed: 5), w = randomValues(2 * 2 * 9, seed: 6), bias: [Float] = [0.5, -0.25]
        let expected = referenceConvTranspose(s, batch: 1, x: x, w: w, bias: bias, activation: .none)
        let kernel = try w.withUnsafeBufferPointer { try ConvTranspose2D(shape: s, weights: $0.baseAddress!, bias: bias) }
        var y = [Float](repeating: .nan, count: 2 * s.outputHeight * s.outputWidth)
        try y.withUnsafeMutableBufferPointer { yp in try kernel.run(input: x, batch: 1, output: yp.baseAddress!) }
        expectClose(y, expected, "output_shape")
        #expect(y[s.outputHeight * s.outputWidth - 1] == 0.5)
    }

    @Test func badShapesThrow() {
        let w = [Float](repeating: 1, count: 64)
        let bad = [
            ConvTranspose2DShape(inputChannels: 3, height: 2, width: 2, outputChannels: 2, kernelH: 2, kernelW: 2, groups: 2),
            ConvTranspose2DShape(inputChannels: 2, height: 2, width: 2, outputChannels: 2, kernelH: 2, kernelW: 2, strides: (0, 1)),
            ConvTranspose2DShape(inputChannels: 2, height: 2, width: 2, outputChannels: 2, kernelH: 2, kernelW: 2, pads: (3, 3, 3, 3)),
            ConvTranspose2DShape(inputChannels: 2, height: 2, width: 2, outputChannels: 2, kernelH: 2, kernelW: 2, pads: (-1, 0, 0, 0)),
        ]
        for s in bad {
            #expect(throws: KernelError.self) {
                try w.withUnsafeBufferPointer { _ = try ConvTranspose2D(shape: s, weights: $0.baseAddress!, bias: nil) }
            }
        }
    }
}
