import Testing
@testable import SegKernels

/// Implicit-GEMM convs with few output channels on the AVX-512 kernel over im2col panels
/// (`Im2colAVX512`) or reading the input in place along rows (`DirectAVX512`): which convs take it, and their outputs against the naive convolution and,
/// where the GEMM adds the same products in the same order (depth ≤ 256, one block), bit for bit
/// against the GEMM path, with bands ending inside a panel and every residual form.
@Suite struct Im2colAVX512Tests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var shape: Conv2DShape
        var activation: Activation
        var inPlace = false
        var description: String { name }
    }

    static func shape(_ cin: Int, _ h: Int, _ w: Int, _ cout: Int, _ k: Int, stride: Int = 1, pad: Int = 0,
                      dilation: Int = 1) -> Conv2DShape {
        Conv2DShape(inputChannels: cin, height: h, width: w, outputChannels: cout, kernelH: k, kernelW: k,
                    strides: (stride, stride), pads: (pad, pad, pad, pad), dilations: (dilation, dilation), groups: 1)
    }

    static let cases: [Case] = [
        Case(name: "stem 3→16 3×3/2 pad 1 on 37×45", shape: shape(3, 37, 45, 16, 3, stride: 2, pad: 1), activation: .hardSwish),
        Case(name: "stem 3→64 7×7/2 pad 3 on 20×26", shape: shape(3, 20, 26, 64, 7, stride: 2, pad: 3), activation: .relu),
        Case(name: "4→8 3×3 pad 1 on 6×20 (too narrow to read in place)", shape: shape(4, 6, 20, 8, 3, pad: 1), activation: .none),
        Case(name: "2→24 3×3 dilation 2 pad 2 on 9×11", shape: shape(2, 9, 11, 24, 3, pad: 2, dilation: 2),
             activation: .clip(min: -0.2, max: 0.3)),
        // Read in place along rows (48+ output columns): interior columns through the offsets,
        // border columns and padded rows from panels.
        Case(name: "in place: 4→8 3×3 pad 1 on 6×60", shape: shape(4, 6, 60, 8, 3, pad: 1), activation: .relu, inPlace: true),
        Case(name: "in place: 3→16 3×3 no pad on 5×50", shape: shape(3, 5, 50, 16, 3), activation: .none, inPlace: true),
        Case(name: "in place: 2→16 3×3 dilation 2 pad 2 on 9×75", shape: shape(2, 9, 75, 16, 3, pad: 2, dilation: 2),
             activation: .hardSwish, inPlace: true),
        Case(name: "in place: 3→8 5×3 stride (2, 1) pads (2, 1) on 11×52",
             shape: Conv2DShape(inputChannels: 3, height: 11, width: 52, outputChannels: 8, kernelH: 5, kernelW: 3, strides: (2, 1),
                                pads: (2, 1, 2, 1), dilations: (1, 1), groups: 1),
             activation: .hardSigmoid(alpha: 0.2, beta: 0.5), inPlace: true),
        // More than 64 input rows a step: gathered in bands of four output rows (7 = 4 + 3),
        // padding as zeros in the block; a dilated, asymmetrically padded one with a residual.
        Case(name: "gathered: 24→16 3×3 pad 1 on 7×50", shape: shape(24, 7, 50, 16, 3, pad: 1), activation: .relu, inPlace: true),
        Case(name: "gathered: 23→8 3×3 pads (2, 1, 0, 2) dilation (2, 1) on 9×53",
             shape: Conv2DShape(inputChannels: 23, height: 9, width: 53, outputChannels: 8, kernelH: 3, kernelW: 3, strides: (1, 1),
                                pads: (2, 1, 0, 2), dilations: (2, 1), groups: 1),
             activation: .hardSwish, inPlace: true),
    ]

    static let gemmOnly: KernelOptions = {
        var o = KernelOptions.standard
        o.im2colAVX512 = false
        return o
    }()

    @Test(arguments: cases)
    func matchesTheNaiveConvolutionAndTheGEMM(_ c: Case) throws {
        let s = c.shape, batch = 2
        let x = randomValues(batch * s.inputChannels * s.height * s.width, seed: 91)
        let w = randomValues(s.outputChannels * s.inputChannels * s.kernelH * s.kernelW, seed: 92)
        let bias = randomValues(s.outputChannels, seed: 93)
        let conv = try Conv2D(shape: s, weights: w, bias: bias, activation: c.activation, winograd: false)
        let gemm = try Conv2D(shape: s, weights: w, bias: bias, activation: c.activation, winograd: false, options: Self.gemmOnly)
        #expect(conv.algorithm == .implicitGEMM)
        #expect(conv.usesIm2colKernel == (KernelISA.hasVNNI && !c.inPlace), "\(c)")
        #expect(conv.usesDirectAVX512Kernel == (KernelISA.hasVNNI && c.inPlace), "\(c)")
        #expect(conv.readsInputInPlace == c.inPlace, "\(c)")
        #expect(!gemm.usesIm2colKernel && !gemm.usesDirectAVX512Kernel)
        try expectSamePathResults(conv, gemm, shape: s, batch: batch, x: x, w: w, bias: bias, activation: c.activation,
                                  label: c.name, bitExact: s.inputChannels * s.kernelH * s.kernelW <= Tile.kc)
    }

    @Test func deepProductsAgreeWithinRounding() throws {
        // 32·9 = 288 > 256: the GEMM sums in two depth blocks, this kernel in one.
        let s = Self.shape(32, 8, 9, 8, 3, stride: 2, pad: 1)
        let x = randomValues(s.inputChannels * s.height * s.width, seed: 94)
        let w = randomValues(8 * 32 * 9, seed: 95)
        let bias = randomValues(8, seed: 96)
        let conv = try Conv2D(shape: s, weights: w, bias: bias, activation: .relu, winograd: false)
        #expect(conv.usesIm2colKernel == KernelISA.hasVNNI)
        try expectSamePathResults(conv, conv, shape: s, batch: 1, x: x, w: w, bias: bias, activation: .relu,
                                  label: "32→8 3×3/2", bitExact: false)
    }

    @Test func whichConvsTakeIt() throws {
        func conv(_ s: Conv2DShape, _ activation: Activation = .relu, options: KernelOptions = .standard) throws -> Conv2D {
            try Conv2D(shape: s, weights: [Float](repeating: 0.25, count: s.outputChannels * s.inputChannels / s.groups * s.kernelH * s.kernelW),
                       bias: nil, activation: activation, winograd: false, options: options)
        }
        let available = KernelISA.hasVNNI
        #expect(try conv(Self.shape(3, 16, 16, 64, 3, stride: 2, pad: 1)).usesIm2colKernel == available)
        #expect(try !conv(Self.shape(3, 16, 16, 72, 3, stride: 2, pad: 1)).usesIm2colKernel)   // more than 64 channels
        #expect(try !conv(Self.shape(3, 16, 16, 12, 3, stride: 2, pad: 1)).usesIm2colKernel)   // not a multiple of 8
        #expect(try !conv(Self.shape(3, 8, 60, 16, 3, pad: 1)).usesIm2colKernel)               // read in place (48+ columns):
        #expect(try conv(Self.shape(21, 8, 60, 16, 3, pad: 1)).usesDirectAVX512Kernel == available)  // 63 input rows a step
        // 66 rows: past the TLB's reach in place, so gathered band by band (stride 1 along H);
        // at stride 2 along H, or with gathering off, the GEMM.
        #expect(try conv(Self.shape(22, 8, 60, 16, 3, pad: 1)).usesDirectAVX512Kernel == available)
        var noGather = KernelOptions.standard
        noGather.directGather = false
        #expect(try !conv(Self.shape(22, 8, 60, 16, 3, pad: 1), options: noGather).usesDirectAVX512Kernel)
        let tall = Conv2DShape(inputChannels: 22, height: 9, width: 60, outputChannels: 16, kernelH: 3, kernelW: 3,
                               strides: (2, 1), pads: (1, 1, 1, 1), dilations: (1, 1), groups: 1)
        #expect(try !conv(tall).usesDirectAVX512Kernel)
        #expect(try !conv(Self.shape(3, 16, 16, 16, 3, stride: 2, pad: 1), .sigmoid).usesIm2colKernel)
        #expect(try !conv(Self.shape(3, 16, 16, 16, 3, stride: 2, pad: 1), options: Self.gemmOnly).usesIm2colKernel)
        let grouped = Conv2DShape(inputChannels: 4, height: 16, width: 16, outputChannels: 16, kernelH: 3, kernelW: 3,
                                  strides: (2, 2), pads: (1, 1, 1, 1), dilations: (1, 1), groups: 2)
        #expect(try !conv(grouped).usesIm2colKernel)
        // Dilated rows reading only padding near the edges: row bands, which keep the GEMM.
        let banded = Self.shape(2, 20, 9, 8, 3, pad: 5, dilation: 5)
        #expect(try conv(banded).rowBandKernelRows.count == 3 && !conv(banded).usesIm2colKernel)
    }
}
