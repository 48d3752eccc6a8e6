import Testing
@testable import SegKernels

/// The float conv's run-time paths, each reached on both sides of the threshold that picks
/// it, the path asserted through `Conv2D`'s introspection, and the numbers compared with the
/// naive convolution (`referenceConv`) with and without a residual:
/// - B read in place (`DirectOperand`) for stride-1-along-W implicit GEMM from 48 output
///   columns (`KernelOptions.directConv`), and for pointwise convs whose channel plane fits
///   `directPointwiseMaxPlaneBytes`;
/// - row bands over the valid kernel rows when they skip at least 15% of the multiply-adds
///   and no output row reads only padding.
@Suite struct ConvPathTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var shape: Conv2DShape
        var options: KernelOptions = .standard
        var inPlace: Bool
        var bands: [Range<Int>] = []
        var description: String { name }
    }

    static func pointwiseBytes(_ bytes: Int) -> KernelOptions {
        var o = KernelOptions.standard
        o.directPointwiseMaxPlaneBytes = bytes
        o.smallDepthPointwiseMaxDepth = 0  // else the AVX-512 kernel takes these small convs
        return o
    }

    static let noDirect: KernelOptions = {
        var o = KernelOptions.standard
        o.directConv = false
        return o
    }()

    static func shape(_ cin: Int, _ h: Int, _ w: Int, _ cout: Int, _ kh: Int, _ kw: Int, strides: (Int, Int) = (1, 1),
                      pads: (Int, Int, Int, Int) = (0, 0, 0, 0), dilations: (Int, Int) = (1, 1), groups: Int = 1) -> Conv2DShape {
        Conv2DShape(inputChannels: cin, height: h, width: w, outputChannels: cout, kernelH: kh, kernelW: kw,
                    strides: strides, pads: pads, dilations: dilations, groups: groups)
    }

    static let cases: [Case] = [
        // In place from 48 output columns (padded: border panels fall back to packing).
        Case(name: "3x3 pad 1, 47 columns", shape: shape(3, 6, 47, 5, 3, 3, pads: (1, 1, 1, 1)), inPlace: false),
        Case(name: "3x3 pad 1, 48 columns", shape: shape(3, 6, 48, 5, 3, 3, pads: (1, 1, 1, 1)), inPlace: true),
        Case(name: "3x3 no pad, 47 columns", shape: shape(2, 5, 49, 4, 3, 3), inPlace: false),
        Case(name: "3x3 no pad, 48 columns", shape: shape(2, 5, 50, 4, 3, 3), inPlace: true),
        Case(name: "5x3 dilation (2, 3), groups 2, 48 columns", shape: shape(4, 9, 48, 6, 5, 3, pads: (4, 3, 4, 3), dilations: (2, 3), groups: 2),
             inPlace: true),
        Case(name: "3x3 stride (2, 1), 48 columns", shape: shape(3, 9, 48, 4, 3, 3, strides: (2, 1), pads: (1, 1, 1, 1)), inPlace: true),
        Case(name: "3x3 stride (1, 2), 48 columns", shape: shape(3, 5, 96, 4, 3, 3, strides: (1, 2), pads: (1, 1, 1, 1)), inPlace: false),
        Case(name: "3x3 pad 1, 64 columns, directConv off", shape: shape(3, 8, 64, 4, 3, 3, pads: (1, 1, 1, 1)), options: noDirect, inPlace: false),
        // A 3×3 pad-1 conv on 4 rows keeps 10 of 12 kernel rows (83%): row bands, which take
        // precedence over reading in place.
        Case(name: "3x3 pad 1 on 4 rows, 64 columns: bands", shape: shape(3, 4, 64, 4, 3, 3, pads: (1, 1, 1, 1)), inPlace: false,
             bands: [1..<3, 0..<3, 0..<2]),
        // Pointwise: in place while a plane (4 bytes a pixel) fits the limit.
        Case(name: "1x1 plane of 64 bytes, limit 64", shape: shape(5, 4, 4, 3, 1, 1), options: pointwiseBytes(64), inPlace: true),
        Case(name: "1x1 plane of 68 bytes, limit 64", shape: shape(5, 1, 17, 3, 1, 1), options: pointwiseBytes(64), inPlace: false),
        Case(name: "1x1 default limit 0", shape: shape(5, 4, 4, 3, 1, 1), options: pointwiseBytes(0), inPlace: false),
        // Row bands: 3 kernel rows, dilation d, pad d on 20 rows keep (60 − 2d) / 60 of the rows.
        Case(name: "dilation 4 on 20 rows keeps 86.7%: one GEMM", shape: shape(2, 20, 9, 3, 3, 3, pads: (4, 4, 4, 4), dilations: (4, 4)),
             inPlace: false),
        Case(name: "dilation 5 on 20 rows keeps 83.3%: three bands", shape: shape(2, 20, 9, 3, 3, 3, pads: (5, 5, 5, 5), dilations: (5, 5)),
             inPlace: false, bands: [1..<3, 0..<3, 0..<2]),
        Case(name: "dilation 5 bands on 48 columns: bands, not in place", shape: shape(2, 20, 48, 3, 3, 3, pads: (5, 5, 5, 5), dilations: (5, 5)),
             inPlace: false, bands: [1..<3, 0..<3, 0..<2]),
        // Every row reads only kernel row 1: a single span, so no bands (the runtime trims
        // such taps before the kernel sees them).
        Case(name: "dilation 4 on 3 rows: one span, no bands", shape: shape(2, 3, 9, 3, 3, 3, pads: (4, 1, 4, 1), dilations: (4, 1)),
             inPlace: false),
    ]

    @Test(arguments: cases)
    func pathIsTakenAndMatchesTheNaiveConvolution(_ c: Case) throws {
        let s = c.shape, batch = 2
        let x = randomValues(batch * s.inputChannels * s.height * s.width, seed: 61)
        let w = randomValues(s.outputChannels * s.inputChannels / s.groups * s.kernelH * s.kernelW, seed: 62)
        let bias = randomValues(s.outputChannels, seed: 63)
        let outCount = batch * s.outputChannels * s.outputHeight * s.outputWidth
        let residual = randomValues(outCount, seed: 64)
        let conv = try Conv2D(shape: s, weights: w, bias: bias, activation: .relu, winograd: false, options: c.options)
        let pointwise = s.kernelH == 1 && s.kernelW == 1
        #expect(conv.algorithm == (pointwise ? .pointwise : .implicitGEMM))
        #expect(conv.readsInputInPlace == c.inPlace, "\(c.name)")
        #expect(conv.rowBandKernelRows == c.bands, "\(c.name)")
        for context in contexts {
            let context = KernelContext(pool: context.pool, isa: context.isa, options: c.options)
            for useResidual in [false, true] {
                var y = [Float](repeating: .nan, count: outCount)
                try residual.withUnsafeBufferPointer { r in
                    try conv.run(input: x, batch: batch, output: &y, residual: useResidual ? r.baseAddress : nil, context: context)
                }
                let expected = referenceConv(s, batch: batch, x: x, w: w, bias: bias, activation: .relu,
                                             residual: useResidual ? residual : nil, before: true)
                expectClose(y, expected, "\(c.name) residual=\(useResidual) \(describe(context))")
            }
        }
    }
}
