import Testing
@testable import SegKernels

/// The AVX-512 pointwise kernel for few input channels (`PointwiseSmallDepth`): which convs
/// take it, and its outputs against the naive convolution and, bit for bit, against the GEMM
/// path it replaces, at row counts around its eight-channel groups and pixel counts around its
/// 32-pixel vectors (masked tails), every activation it fuses, and every residual form.
@Suite struct PointwiseSmallDepthTests {
    struct Case: CustomStringConvertible, Sendable {
        var cin: Int, h: Int, w: Int, cout: Int
        var activation: Activation
        var description: String { "\(cin)→\(cout) @\(h)×\(w) \(activation)" }
    }

    static let cases: [Case] = [
        Case(cin: 16, h: 9, w: 40, cout: 64, activation: .hardSwish),   // 360 pixels: a 8-pixel tail
        Case(cin: 16, h: 6, w: 16, cout: 16, activation: .none),        // 96: whole vectors
        Case(cin: 1, h: 1, w: 5, cout: 65, activation: .relu),          // one masked vector, a last group of 1 row
        Case(cin: 3, h: 5, w: 7, cout: 67, activation: .clip(min: -0.25, max: 0.5)),  // 35: a 3-pixel tail, 8·8 + 3 rows
        Case(cin: 64, h: 4, w: 17, cout: 72, activation: .hardSigmoid(alpha: 0.3, beta: 0.4)),  // 68
        Case(cin: 200, h: 8, w: 9, cout: 8, activation: .relu),         // deep, on a small map
        Case(cin: 24, h: 33, w: 35, cout: 72, activation: .relu),       // 1155 pixels: bands
        // 8192 pixels, planes a multiple of 4 KiB: each band gathered into a compact block first.
        Case(cin: 6, h: 64, w: 128, cout: 16, activation: .hardSwish),
    ]

    static let gemmOnly: KernelOptions = {
        var o = KernelOptions.standard
        o.smallDepthPointwiseMaxDepth = 0
        return o
    }()

    @Test(arguments: cases)
    func matchesTheNaiveConvolutionAndTheGEMMBitForBit(_ c: Case) throws {
        let s = Conv2DShape(inputChannels: c.cin, height: c.h, width: c.w, outputChannels: c.cout, kernelH: 1, kernelW: 1,
                            strides: (1, 1), pads: (0, 0, 0, 0), dilations: (1, 1), groups: 1)
        let batch = 2
        let x = randomValues(batch * c.cin * c.h * c.w, seed: 71)
        let w = randomValues(c.cout * c.cin, seed: 72)
        let bias = randomValues(c.cout, seed: 73)
        let conv = try Conv2D(shape: s, weights: w, bias: bias, activation: c.activation, options: .standard)
        let gemm = try Conv2D(shape: s, weights: w, bias: bias, activation: c.activation, options: Self.gemmOnly)
        #expect(conv.usesSmallDepthKernel == KernelISA.hasVNNI, "\(c)")
        #expect(!gemm.usesSmallDepthKernel)
        try expectSamePathResults(conv, gemm, shape: s, batch: batch, x: x, w: w, bias: bias, activation: c.activation,
                                  label: "\(c)", bitExact: true)
    }

    @Test func whichConvsTakeIt() throws {
        func conv(_ cin: Int, _ h: Int, _ w: Int, cout: Int = 8, groups: Int = 1, _ activation: Activation = .relu,
                  options: KernelOptions = .standard) throws -> Conv2D {
            let s = Conv2DShape(inputChannels: cin, height: h, width: w, outputChannels: cout, kernelH: 1, kernelW: 1,
                                strides: (1, 1), pads: (0, 0, 0, 0), dilations: (1, 1), groups: groups)
            return try Conv2D(shape: s, weights: [Float](repeating: 0.5, count: cout * cin / groups), bias: nil,
                              activation: activation, options: options)
        }
        let available = KernelISA.hasVNNI
        // Depth: 64 on large maps, 1024 on maps of at most 1024 pixels.
        #expect(try conv(64, 33, 33).usesSmallDepthKernel == available)
        #expect(try !conv(65, 33, 33).usesSmallDepthKernel)
        #expect(try conv(1024, 32, 32).usesSmallDepthKernel == available)
        #expect(try !conv(1025, 4, 4).usesSmallDepthKernel)
        var deeper = KernelOptions.standard
        deeper.smallDepthPointwiseMaxDepth = 128
        #expect(try conv(65, 33, 33, options: deeper).usesSmallDepthKernel == available)
        // Output channels: whole groups of eight, or enough of them that a partial one is cheap.
        #expect(try conv(16, 8, 8, cout: 24).usesSmallDepthKernel == available)
        #expect(try !conv(16, 8, 8, cout: 11).usesSmallDepthKernel)
        #expect(try conv(16, 8, 8, cout: 65).usesSmallDepthKernel == available)
        #expect(try !conv(8, 4, 4, .sigmoid).usesSmallDepthKernel)           // an activation it does not fuse
        #expect(try !conv(8, 4, 4, cout: 16, groups: 2).usesSmallDepthKernel)  // grouped
        #expect(try !conv(8, 1, 1).usesSmallDepthKernel)                     // a 1×1 map: the matrix-vector path
        #expect(try !conv(8, 4, 4, options: Self.gemmOnly).usesSmallDepthKernel)
        // Bands gathered first: planes a multiple of 1024 floats from 8192 pixels, or 32+ planes
        // of 32768+ pixels; not MobileNet's 16-deep 180×240 or 64-deep 90×120 layers.
        #expect(Conv2D.smallDepthGathers(depth: 6, plane: 64 * 128))
        #expect(Conv2D.smallDepthGathers(depth: 64, plane: 192 * 241))
        #expect(!Conv2D.smallDepthGathers(depth: 16, plane: 180 * 240))
        #expect(!Conv2D.smallDepthGathers(depth: 64, plane: 90 * 120))
        #expect(!Conv2D.smallDepthGathers(depth: 64, plane: 64 * 64))
    }
}

/// Runs `conv` and `alternative` (the same weights on another path) with no residual, a
/// residual before and after the activation, and the output as its own residual, on every
/// context; checks each against the naive convolution and, with `bitExact`, against each other.
func expectSamePathResults(_ conv: Conv2D, _ alternative: Conv2D, shape s: Conv2DShape, batch: Int, x: [Float], w: [Float],
                           bias: [Float], activation: Activation, label: String, bitExact: Bool,
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
    let outCount = batch * s.outputChannels * s.outputHeight * s.outputWidth
    let residual = randomValues(outCount, seed: 74)
    // (residual, added before the activation, the residual being the output itself)
    let forms: [(Bool, Bool, Bool)] = [(false, true, false), (true, true, false), (true, false, false), (true, true, true)]
    for context in contexts {
        for (useResidual, before, inPlace) in forms {
            func run(_ conv: Conv2D) throws -> [Float] {
                var y = inPlace ? residual : [Float](repeating: .nan, count: outCount)
                if inPlace {
                    try y.withUnsafeMutableBufferPointer { yb in
                        try conv.run(input: x, batch: batch, output: yb.baseAddress!, residual: UnsafePointer(yb.baseAddress!),
                                     residualBeforeActivation: true, context: context)
                    }
                } else {
                    try residual.withUnsafeBufferPointer { r in
                        try conv.run(input: x, batch: batch, output: &y, residual: useResidual ? r.baseAddress : nil,
                                     residualBeforeActivation: before, context: context)
                    }
                }
                return y
            }
            let caseLabel = "\(label) residual=\(useResidual) before=\(before) inPlace=\(inPlace) \(describe(context))"
            let y = try run(conv)
            let expected = referenceConv(s, batch: batch, x: x, w: w, bias: bias, activation: activation,
                                         residual: useResidual ? residual : nil, before: before)
            expectClose(y, expected, caseLabel, sourceLocation: sourceLocation)
            if bitExact {
                // The same sums in the same order as the GEMM's micro-kernel, so the same bits
                // (up to the sign of a zero after ReLU).
                let other = try run(alternative)
                let identical = zip(y, other).allSatisfy { $0 == $1 }
                #expect(identical, "\(caseLabel): differs from the other path", sourceLocation: sourceLocation)
            }
        }
    }
}
