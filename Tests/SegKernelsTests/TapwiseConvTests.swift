import Testing
@testable import SegKernels

/// `TapwiseConv` (a stride-1 conv run tap by tap over each tap's valid output rectangle)
/// against the naive reference conv, on DeepLab-ASPP-like geometries and edge cases.
@Suite struct TapwiseConvTests {
    static let cases: [Conv2DShape] = [
        // ASPP at 1/16 of 360×480 (channels cut down): dilation 12 and 24, "same" padding.
        Conv2DShape(inputChannels: 20, height: 23, width: 30, outputChannels: 9, kernelH: 3, kernelW: 3, pads: (12, 12, 12, 12), dilations: (12, 12)),
        Conv2DShape(inputChannels: 7, height: 23, width: 30, outputChannels: 5, kernelH: 3, kernelW: 3, pads: (24, 24, 24, 24), dilations: (24, 24)),
        // Asymmetric pads and dilations, no tap covering the whole output (no in-place tap).
        Conv2DShape(inputChannels: 3, height: 9, width: 11, outputChannels: 4, kernelH: 3, kernelW: 2, pads: (5, 1, 0, 3), dilations: (4, 3)),
        // A tap that reads only padding (dilation past the map).
        Conv2DShape(inputChannels: 2, height: 5, width: 6, outputChannels: 3, kernelH: 3, kernelW: 3, pads: (7, 7, 7, 7), dilations: (7, 7)),
        // Plain 3×3 "same" conv: every tap but the centre misses one edge row/column.
        Conv2DShape(inputChannels: 4, height: 6, width: 7, outputChannels: 5, kernelH: 3, kernelW: 3, pads: (1, 1, 1, 1)),
    ]

    @Test(arguments: cases.indices, [Activation.none, .relu])
    func matchesTheReferenceConv(_ index: Int, activation: Activation) throws {
        let s = Self.cases[index]
        let batch = 2
        let x = (0..<(batch * s.inputChannels * s.height * s.width)).map { Float(($0 * 37) % 41) / 41 - 0.5 }
        let w = (0..<(s.outputChannels * s.inputChannels * s.kernelH * s.kernelW)).map { Float(($0 * 53) % 43) / 43 - 0.5 }
        let bias = (0..<s.outputChannels).map { Float($0) * 0.1 - 0.2 }
        let conv = try #require(try TapwiseConv(shape: s, weights: w, bias: bias, activation: activation))
        var y = [Float](repeating: .nan, count: batch * s.outputChannels * s.outputHeight * s.outputWidth)
        try conv.run(input: x, batch: batch, output: &y)
        let expected = referenceConv(s, batch: batch, x: x, w: w, bias: bias, activation: activation, residual: nil, before: true)
        #expect(zip(y, expected).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) }, "case \(index)")
        // Fewer multiply-adds than the whole kernel exactly where taps read padding.
        let whole = s.outputHeight * s.outputWidth * s.kernelH * s.kernelW * s.inputChannels * s.outputChannels
        let valid = (0..<s.outputHeight).reduce(0) { sum, oy in
            sum + (0..<s.outputWidth).reduce(0) { sum, ox in
                sum + (0..<s.kernelH).reduce(0) { sum, ky in
                    sum + (0..<s.kernelW).filter { kx in
                        let iy = oy - s.pads.top + ky * s.dilationH, ix = ox - s.pads.left + kx * s.dilationW
                        return iy >= 0 && iy < s.height && ix >= 0 && ix < s.width
                    }.count
                }
            }
        }
        #expect(conv.multiplyAdds == valid * s.inputChannels * s.outputChannels && conv.multiplyAdds <= whole)
    }

    @Test func stridedOrGroupedConvsAreNotTapwise() throws {
        let w = [Float](repeating: 0.5, count: 4 * 2 * 9)
        #expect(try TapwiseConv(shape: Conv2DShape(inputChannels: 4, height: 6, width: 6, outputChannels: 4, kernelH: 3, kernelW: 3,
                                                  strides: (2, 2), pads: (1, 1, 1, 1)), weights: w, bias: nil, activation: .none) == nil)
        #expect(try TapwiseConv(shape: Conv2DShape(inputChannels: 4, height: 6, width: 6, outputChannels: 4, kernelH: 3, kernelW: 3,
                                                  pads: (1, 1, 1, 1), groups: 2), weights: w, bias: nil, activation: .none) == nil)
    }
}
