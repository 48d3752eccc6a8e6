import Testing
@testable import SegKernels

/// INT8 kernels against scalar s32 references: bit-exact codes on every ISA path and thread
/// count, including weights that would saturate `vpmaddubsw`.
@Suite struct QKernelTests {
    /// Deterministic codes in lo...hi.
    static func codes(_ count: Int, seed: UInt64, _ lo: Int, _ hi: Int) -> [Int] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return lo + Int(state >> 33) % (hi - lo + 1)
        }
    }

    /// Σ (x − zx)·w + bias over in-bounds taps, then the documented requantization.
    static func reference(_ s: Conv2DShape, x: [UInt8], w: [Int8], bias: [Int32], zx: Int32, multiplier: [Float],
                          zy: Int32, low: Int32, high: Int32, batch: Int,
                          codeOf: ((Int32, Int) -> Int32)? = nil) -> [UInt8] {
        let oh = s.outputHeight, ow = s.outputWidth, cout = s.outputChannels, cinG = s.inputChannels / s.groups
        let coutG = cout / s.groups
        var out = [UInt8](repeating: 0, count: batch * oh * ow * cout)
        for n in 0..<batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for o in 0..<cout {
                        var t = Int64(bias[o])
                        let g = o / coutG
                        for c in 0..<cinG {
                            for ky in 0..<s.kernelH {
                                for kx in 0..<s.kernelW {
                                    let iy = oy * s.strideH - s.pads.top + ky * s.dilationH
                                    let ix = ox * s.strideW - s.pads.left + kx * s.dilationW
                                    guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
                                    let xv = Int64(x[((n * s.height + iy) * s.width + ix) * s.inputChannels + g * cinG + c]) - Int64(zx)
                                    t += xv * Int64(w[((o * cinG + c) * s.kernelH + ky) * s.kernelW + kx])
                                }
                            }
                        }
                        let v = Float(Int32(t)) * multiplier[o]
                        let q = codeOf?(Int32(t), o) ?? min(max(Int32(v.rounded(.toNearestOrEven)) + zy, low), high)
                        out[((n * oh + oy) * ow + ox) * cout + o] = UInt8(q)
                    }
                }
            }
        }
        return out
    }

    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var shape: Conv2DShape
        var weightRange: ClosedRange<Int>
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "pointwise full-range", shape: Conv2DShape(inputChannels: 19, height: 5, width: 7, outputChannels: 37, kernelH: 1, kernelW: 1), weightRange: -128...127),
        Case(name: "pointwise 7-bit", shape: Conv2DShape(inputChannels: 24, height: 3, width: 6, outputChannels: 16, kernelH: 1, kernelW: 1), weightRange: -64...63),
        Case(name: "3x3 s2 im2col", shape: Conv2DShape(inputChannels: 3, height: 9, width: 11, outputChannels: 20, kernelH: 3, kernelW: 3,
                                                       strides: (2, 2), pads: (1, 1, 1, 1)), weightRange: -127...127),
        Case(name: "3x3 dilated im2col 7-bit", shape: Conv2DShape(inputChannels: 5, height: 8, width: 8, outputChannels: 18, kernelH: 3, kernelW: 3,
                                                       pads: (2, 2, 2, 2), dilations: (2, 2)), weightRange: -64...63),
        Case(name: "depthwise 3x3 s1", shape: Conv2DShape(inputChannels: 24, height: 6, width: 7, outputChannels: 24, kernelH: 3, kernelW: 3,
                                                          pads: (1, 1, 1, 1), groups: 24), weightRange: -128...127),
        Case(name: "depthwise 5x5 s2", shape: Conv2DShape(inputChannels: 40, height: 9, width: 10, outputChannels: 40, kernelH: 5, kernelW: 5,
                                                          strides: (2, 2), pads: (2, 2, 2, 2), groups: 40), weightRange: -128...127),
        Case(name: "depthwise 3x3 dilation 2", shape: Conv2DShape(inputChannels: 16, height: 7, width: 7, outputChannels: 16, kernelH: 3, kernelW: 3,
                                                                  pads: (2, 2, 2, 2), dilations: (2, 2), groups: 16), weightRange: -128...127),
        // Widened-row depthwise: 4-pixel groups and tails, a partial channel block, asymmetric
        // pads, dilation with a lone last tap, and rows too wide for more than one per task.
        Case(name: "depthwise 3x3 s1 wide partial block", shape: Conv2DShape(inputChannels: 72, height: 5, width: 13, outputChannels: 72, kernelH: 3, kernelW: 3,
                                                                             pads: (1, 0, 1, 2), groups: 72), weightRange: -128...127),
        Case(name: "depthwise 5x5 s1 dilation 2", shape: Conv2DShape(inputChannels: 40, height: 9, width: 11, outputChannels: 40, kernelH: 5, kernelW: 5,
                                                                     pads: (4, 4, 4, 4), dilations: (2, 2), groups: 40), weightRange: -128...127),
        Case(name: "depthwise 3x3 s2 no pad", shape: Conv2DShape(inputChannels: 16, height: 8, width: 12, outputChannels: 16, kernelH: 3, kernelW: 3,
                                                                 strides: (2, 2), groups: 16), weightRange: -128...127),
        Case(name: "depthwise 3x3 one row per task", shape: Conv2DShape(inputChannels: 16, height: 4, width: 700, outputChannels: 16, kernelH: 3, kernelW: 3,
                                                                        pads: (1, 1, 1, 1), groups: 16), weightRange: -128...127),
        // Kernel widths 7 (unrolled) and 1 (run-time width), 4-pixel groups with a 3-pixel tail.
        Case(name: "depthwise 7x7 s1 tail", shape: Conv2DShape(inputChannels: 20, height: 9, width: 11, outputChannels: 20, kernelH: 7, kernelW: 7,
                                                               pads: (3, 3, 3, 3), groups: 20), weightRange: -128...127),
        Case(name: "depthwise 3x1 s1", shape: Conv2DShape(inputChannels: 16, height: 6, width: 9, outputChannels: 16, kernelH: 3, kernelW: 1,
                                                          pads: (1, 0, 1, 0), groups: 16), weightRange: -128...127),
        Case(name: "depthwise 2x4 s(1,3)", shape: Conv2DShape(inputChannels: 24, height: 6, width: 14, outputChannels: 24, kernelH: 2, kernelW: 4,
                                                              strides: (1, 3), pads: (0, 1, 1, 2), groups: 24), weightRange: -128...127),
    ]

    @Test(arguments: cases)
    func convolutionIsBitExact(_ c: Case) throws {
        let s = c.shape, batch = 2
        let x = Self.codes(batch * s.height * s.width * s.inputChannels, seed: 3, 0, 255).map { UInt8($0) }
        let w = Self.codes(s.outputChannels * s.inputChannels / s.groups * s.kernelH * s.kernelW, seed: 5,
                           c.weightRange.lowerBound, c.weightRange.upperBound).map { Int8($0) }
        let bias = Self.codes(s.outputChannels, seed: 7, -3000, 3000).map { Int32($0) }
        let wScales = (0..<s.outputChannels).map { Float(0.001 + 0.0003 * Float($0 % 5)) }
        let xScale: Float = 0.02, yScale: Float = 0.05, zx: Int32 = 117, zy: Int32 = 9
        let conv = try QConv2D(shape: s, weights: w, weightScales: wScales, bias: bias, inputScale: xScale, inputZeroPoint: zx,
                               output: .u8(scale: yScale, zeroPoint: zy, low: zy, high: 255))
        if s.groups == 1 {
            let expectedPath: QGemmPath = KernelISA.hasVNNI ? .vnni : (c.weightRange.lowerBound >= -64 ? .maddubs : .exact)
            #expect(conv.gemmPath == expectedPath, "\(c.name): \(String(describing: conv.gemmPath))")
        }
        let multiplier = wScales.map { Float(Double($0) * Double(xScale) / Double(yScale)) }
        let expected = Self.reference(s, x: x, w: w, bias: bias, zx: zx, multiplier: multiplier, zy: zy, low: zy, high: 255, batch: batch)
        for context in contexts {
            var y = [UInt8](repeating: 0, count: expected.count + 16)
            var padded = x + [UInt8](repeating: 0, count: 16)
            try padded.withUnsafeMutableBufferPointer { xp in
                try y.withUnsafeMutableBufferPointer { yp in
                    try conv.run(input: xp.baseAddress!, batch: batch, output: UnsafeMutableRawPointer(yp.baseAddress!), context: context)
                }
            }
            let bad = zip(y, expected).filter { $0 != $1 }.count
            #expect(bad == 0, "\(c.name) \(describe(context)): \(bad) of \(expected.count) codes differ")
        }
    }

    static let activations: [Activation] = [.hardSwish, .hardSigmoid(alpha: 0.2, beta: 0.5), .sigmoid]

    /// Conv → HardSwish | HardSigmoid | Sigmoid → Q in one epilogue: every path (pointwise,
    /// im2col, depthwise; AVX2 and portable; 1 and more threads) against the scalar formula
    /// q = clamp(round_half_even(act((acc + bias) · x_scale · w_scale) / y_scale) + zy, 0, 255).
    @Test(arguments: cases, activations)
    func activatedEpilogueIsBitExact(_ c: Case, _ activation: Activation) throws {
        let s = c.shape, batch = 2
        let x = Self.codes(batch * s.height * s.width * s.inputChannels, seed: 3, 0, 255).map { UInt8($0) }
        let w = Self.codes(s.outputChannels * s.inputChannels / s.groups * s.kernelH * s.kernelW, seed: 5,
                           c.weightRange.lowerBound, c.weightRange.upperBound).map { Int8($0) }
        let bias = Self.codes(s.outputChannels, seed: 7, -3000, 3000).map { Int32($0) }
        // Pre-activations of a few units either way, so every branch of the activations is hit.
        let k = s.inputChannels / s.groups * s.kernelH * s.kernelW
        let base = 6 / (0.02 * 75 * 75 * Float(k).squareRoot() * Float(c.weightRange.upperBound) / 127)
        let wScales = (0..<s.outputChannels).map { base * Float(0.7 + 0.15 * Float($0 % 5)) }
        let xScale: Float = 0.02, zx: Int32 = 117
        let (yScale, zy): (Float, Int32) = activation == .hardSwish ? (0.03, 20) : (1.0 / 255, 0)
        let conv = try QConv2D(shape: s, weights: w, weightScales: wScales, bias: bias, inputScale: xScale, inputZeroPoint: zx,
                               output: .u8Activated(scale: yScale, zeroPoint: zy, activation: activation))
        let multiplier = wScales.map { Float(Double($0) * Double(xScale)) }
        let expected = Self.reference(s, x: x, w: w, bias: bias, zx: zx, multiplier: multiplier, zy: zy, low: 0, high: 255, batch: batch) { t, o in
            let y = activation.apply(Float(t) * multiplier[o]) * (1 / yScale)
            let c = y < Float(-zy) ? Float(-zy) : (y > Float(255 - zy) ? Float(255 - zy) : y)
            return Int32(c.rounded(.toNearestOrEven)) + zy
        }
        let distinct = Set(expected).count
        #expect(distinct > 40, "\(c.name) \(activation): only \(distinct) distinct codes")
        for context in contexts {
            var y = [UInt8](repeating: 0, count: expected.count + 16)
            var padded = x + [UInt8](repeating: 0, count: 16)
            try padded.withUnsafeMutableBufferPointer { xp in
                try y.withUnsafeMutableBufferPointer { yp in
                    try conv.run(input: xp.baseAddress!, batch: batch, output: UnsafeMutableRawPointer(yp.baseAddress!), context: context)
                }
            }
            let bad = zip(y, expected).filter { $0 != $1 }.count
            #expect(bad == 0, "\(c.name) \(activation) \(describe(context)): \(bad) of \(expected.count) codes differ")
        }
    }

    @Test func maddubsSelectionIsExactlyTheNonSaturatingCondition() throws {
        // 127 + 1 = 128 positive in one pair: 255 · 128 fits s16. 127 + 2 does not.
        #expect(QPackedWeights.maddubsIsExact([127, 1, -128, 0], n: 1, k: 4))
        #expect(!QPackedWeights.maddubsIsExact([127, 2, 0, 0], n: 1, k: 4))
        #expect(!QPackedWeights.maddubsIsExact([0, 0, -100, -29], n: 1, k: 4))
        #expect(QPackedWeights.maddubsIsExact([127, -128, 127, -128], n: 1, k: 4))
        // Weights that saturate: the chosen (exact) path is still bit-exact against Σ in s32.
        let w: [Int8] = [127, 127, 127, 127, -128, -128, -128, -128]
        let packed = try QPackedWeights(weights: w, n: 2, k: 4)
        #expect(packed.path == (KernelISA.hasVNNI ? .vnni : .exact))
        let x: [UInt8] = [255, 255, 255, 255] + [UInt8](repeating: 0, count: 16)
        for context in contexts {
            var y = [Float](repeating: 0, count: 2)
            try x.withUnsafeBufferPointer { xp in
                try y.withUnsafeMutableBufferPointer { yp in
                    try qgemm(m: 1, a: .rows(xp.baseAddress!, rowStride: 4), weights: packed,
                              requantization: QRequantization(bias: [0, 0], multiplier: [1, 1]),
                              output: .f32(yp.baseAddress!, rowStride: 1, channelStride: 1), context: context)
                }
            }
            let expected: [Float] = [Float(4 * 255 * 127), Float(-4 * 255 * 128)]
            #expect(y == expected, "\(describe(context))")
        }
    }

    /// The paths a GEMM over weights in `range` may take on this CPU (forced `.maddubs` only
    /// where it is exact): on a VNNI machine the AVX2 fallbacks stay covered too.
    static func exactPaths(_ range: ClosedRange<Int>) -> [QGemmPath] {
        [.exact] + (range.lowerBound >= -64 && range.upperBound <= 64 ? [.maddubs] : []) + (KernelISA.hasVNNI ? [.vnni] : [])
    }

    /// The ungrouped cases (the ones that run on a GEMM; depthwise has no GEMM path), plus
    /// GEMM shapes the shared list lacks: a pointwise K tail, a strided 1×1 (im2col, not
    /// pointwise), an asymmetric 5×3 kernel with uneven pads.
    static let gemmCases: [Case] = cases.filter { $0.shape.groups == 1 } + [
        Case(name: "pointwise K tail 7-bit", shape: Conv2DShape(inputChannels: 13, height: 4, width: 5, outputChannels: 9, kernelH: 1, kernelW: 1),
             weightRange: -64...63),
        Case(name: "1x1 s2 im2col", shape: Conv2DShape(inputChannels: 8, height: 7, width: 9, outputChannels: 12, kernelH: 1, kernelW: 1,
                                                       strides: (2, 2)), weightRange: -128...127),
        Case(name: "5x3 uneven pads im2col 7-bit", shape: Conv2DShape(inputChannels: 6, height: 8, width: 7, outputChannels: 11, kernelH: 5, kernelW: 3,
                                                                      pads: (2, 0, 1, 2)), weightRange: -64...63),
    ]

    @Test func gemmCasesAreTheUngroupedOnes() {
        #expect(Self.gemmCases.count == 7)
        #expect(Self.gemmCases.allSatisfy { $0.shape.groups == 1 })
    }

    /// Every exact path, forced, against the scalar s32 convolution reference.
    @Test(arguments: gemmCases)
    func everyGemmPathIsBitExact(_ c: Case) throws {
        let s = c.shape, batch = 1
        let x = Self.codes(batch * s.height * s.width * s.inputChannels, seed: 17, 0, 255).map { UInt8($0) }
        let w = Self.codes(s.outputChannels * s.inputChannels * s.kernelH * s.kernelW, seed: 19,
                           c.weightRange.lowerBound, c.weightRange.upperBound).map { Int8($0) }
        let bias = Self.codes(s.outputChannels, seed: 23, -3000, 3000).map { Int32($0) }
        let wScales = (0..<s.outputChannels).map { Float(0.001 + 0.0002 * Float($0 % 7)) }
        let xScale: Float = 0.02, yScale: Float = 0.04, zx: Int32 = 101, zy: Int32 = 5
        let multiplier = wScales.map { Float(Double($0) * Double(xScale) / Double(yScale)) }
        let expected = Self.reference(s, x: x, w: w, bias: bias, zx: zx, multiplier: multiplier, zy: zy, low: 0, high: 255, batch: batch)
        for path in Self.exactPaths(c.weightRange) {
            let conv = try QConv2D(shape: s, weights: w, weightScales: wScales, bias: bias, inputScale: xScale, inputZeroPoint: zx,
                                   output: .u8(scale: yScale, zeroPoint: zy, low: 0, high: 255), path: path)
            #expect(conv.gemmPath == path)
            let pointwise = s.kernelH == 1 && s.kernelW == 1 && s.strideH == 1 && s.strideW == 1 && s.pads == (0, 0, 0, 0)
            #expect(conv.algorithm == (pointwise ? .pointwise : .im2col), "\(c.name)")
            for context in contexts where context.isa == .avx2 {
                var y = [UInt8](repeating: 0, count: expected.count + 16)
                var padded = x + [UInt8](repeating: 0, count: 16)
                try padded.withUnsafeMutableBufferPointer { xp in
                    try y.withUnsafeMutableBufferPointer { yp in
                        try conv.run(input: xp.baseAddress!, batch: batch, output: UnsafeMutableRawPointer(yp.baseAddress!), context: context)
                    }
                }
                let bad = zip(y, expected).filter { $0 != $1 }.count
                #expect(bad == 0, "\(c.name) \(path) \(describe(context)): \(bad) of \(expected.count) codes differ")
            }
        }
    }

    /// `vpdpbusd` against Σ in s32 (f32 output with multiplier 1: every sum here is below 2²⁴,
    /// so the float is the integer), including the extremes that saturate `vpmaddubsw`
    /// (255 · (127 + 127) > 32767) and odd K / N / M tails.
    @Test(.enabled(if: KernelISA.hasVNNI, "CPU without AVX512-VNNI + AVX512VL: VNNI path skipped"),
          arguments: [(1, 1, 1), (3, 17, 5), (4, 16, 4), (37, 33, 131), (64, 48, 256), (9, 5, 255)])
    func vnniGemmIsBitExactForFullRangeWeights(_ shape: (Int, Int, Int)) throws {
        let (m, n, k) = shape
        let x = Self.codes(m * k, seed: 29, 200, 255).map { UInt8($0) }
        var w = Self.codes(n * k, seed: 31, -128, 127).map { Int8($0) }
        // Row 0 all +127, row 1 (if any) all −128: every vpmaddubsw pair would saturate.
        for j in 0..<k { w[j] = 127; if n > 1 { w[k + j] = -128 } }
        #expect(!QPackedWeights.maddubsIsExact(w, n: n, k: k) || k == 1)
        let bias = Self.codes(n, seed: 37, -3000, 3000).map { Int32($0) }
        let packed = try QPackedWeights(weights: w, n: n, k: k, path: .vnni)
        #expect(packed.path == .vnni)
        let xPadded = x + [UInt8](repeating: 0, count: 16)
        for context in contexts where context.isa == .avx2 {
            var y = [Float](repeating: .nan, count: m * n)
            try xPadded.withUnsafeBufferPointer { xp in
                try y.withUnsafeMutableBufferPointer { yp in
                    try qgemm(m: m, a: .rows(xp.baseAddress!, rowStride: k), weights: packed,
                              requantization: QRequantization(bias: bias, multiplier: [Float](repeating: 1, count: n)),
                              output: .f32(yp.baseAddress!, rowStride: n, channelStride: 1), context: context)
                }
            }
            var bad = 0
            for r in 0..<m {
                for c in 0..<n {
                    let sum = (0..<k).reduce(bias[c]) { $0 + Int32(x[r * k + $1]) * Int32(w[c * k + $1]) }
                    if y[r * n + c] != Float(sum) { bad += 1 }
                }
            }
            #expect(bad == 0, "\(m)x\(n)x\(k) \(describe(context)): \(bad) of \(m * n) sums differ")
        }
    }

    @Test func vnniFallsBackWhereUnavailable() throws {
        let w: [Int8] = [127, 127, 127, 127, -128, -128, -128, -128]
        let packed = try QPackedWeights(weights: w, n: 2, k: 4, path: .vnni)
        #expect(packed.path == (KernelISA.hasVNNI ? .vnni : .exact))
    }

    @Test func floatOutputIsNCHWDequantized() throws {
        let s = Conv2DShape(inputChannels: 8, height: 3, width: 4, outputChannels: 5, kernelH: 1, kernelW: 1)
        let x = Self.codes(12 * 8, seed: 11, 0, 255).map { UInt8($0) } + [UInt8](repeating: 0, count: 16)
        let w = Self.codes(40, seed: 13, -128, 127).map { Int8($0) }
        let conv = try QConv2D(shape: s, weights: w, weightScales: [0.01], bias: nil, inputScale: 0.5, inputZeroPoint: 3, output: .f32)
        var y = [Float](repeating: 0, count: 60)
        try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in try conv.run(input: xp.baseAddress!, batch: 1, output: UnsafeMutableRawPointer(yp.baseAddress!)) }
        }
        for p in 0..<12 {
            for o in 0..<5 {
                let t = (0..<8).reduce(Int32(0)) { $0 + (Int32(x[p * 8 + $1]) - 3) * Int32(w[o * 8 + $1]) }
                #expect(y[o * 12 + p] == Float(t) * Float(Double(0.01) * 0.5), "pixel \(p) channel \(o)")
            }
        }
    }

    /// Every path (portable, AVX2, and the 16-lane AVX-512 rows where the CPU has them) gives
    /// the scalar formula's codes exactly: rows shorter than one vector (13 channels), rows of
    /// two full vectors and a masked tail (40), and a signed output whose codes clamp at both ends.
    @Test(arguments: [(13, false), (40, true)])
    func elementwiseKernelsMatchTheirFloatFormulas(_ shape: (channels: Int, signedOutput: Bool)) throws {
        let pa = QuantParameters(scale: 0.03, zeroPoint: 100), pb = QuantParameters(scale: 0.011, zeroPoint: 7)
        let po = shape.signedOutput ? QuantParameters(scale: 0.02, zeroPoint: -10, signed: true) : QuantParameters(scale: 0.04, zeroPoint: 60)
        let (batch, pixels, channels) = (2, 5, shape.channels)
        let n = batch * pixels * channels
        let a = Self.codes(n, seed: 1, 0, 255).map { UInt8($0) }, b = Self.codes(n, seed: 2, 0, 255).map { UInt8($0) }
        for context in contexts {
            for op in [BinaryOperation.add, .multiply] {
                var y = [UInt8](repeating: 0, count: n)
                try qBinary(op, a: a, aParameters: pa, b: b, bParameters: pb, broadcast: .none, output: &y, outputParameters: po,
                            batch: batch, pixels: pixels, channels: channels, context: context)
                var yc = [UInt8](repeating: 0, count: n)
                try qBinary(op, a: a, aParameters: pa, b: b, bParameters: pb, broadcast: .channel(imagesInB: 2), output: &yc,
                            outputParameters: po, batch: batch, pixels: pixels, channels: channels, context: context)
                // Signed codes are stored as their two's-complement bytes.
                let code = { (byte: UInt8) in shape.signedOutput ? Int32(Int8(bitPattern: byte)) : Int32(byte) }
                for i in 0..<n {
                    let u = pa.dequantize(Int32(a[i])), v = pb.dequantize(Int32(b[i]))
                    #expect(code(y[i]) == po.quantize(op == .add ? u + v : u * v), "\(op) \(i) \(describe(context))")
                    let image = i / (pixels * channels), c = i % channels
                    let g = pb.dequantize(Int32(b[image * channels + c]))
                    #expect(code(yc[i]) == po.quantize(op == .add ? u + g : u * g), "\(op) channel \(i) \(describe(context))")
                }
            }
            var pooled = [UInt8](repeating: 0, count: batch * channels)
            try qGlobalAveragePool(input: a, inputParameters: pa, batch: batch, pixels: pixels, channels: channels,
                                   output: &pooled, outputParameters: po, context: context)
            for image in 0..<batch {
                for c in 0..<channels {
                    let sum = (0..<pixels).reduce(Int32(0)) { $0 + Int32(a[(image * pixels + $1) * channels + c]) }
                    let mean = Float(sum - Int32(pixels) * pa.zeroPoint) * pa.scale / Float(pixels)
                    #expect((po.signed ? Int32(Int8(bitPattern: pooled[image * channels + c])) : Int32(pooled[image * channels + c]))
                            == po.quantize(mean))
                }
            }
            let table = qLookupTable(input: pa, output: po) { max($0, 0) * min(max($0 / 6 + 0.5, 0), 1) }
            var looked = [UInt8](repeating: 0, count: n)
            try qLookup(table, input: a, output: &looked, count: n, context: context)
            #expect(looked == a.map { table[Int($0)] })
            // Eight codes per word, over chunk boundaries and with a ragged tail.
            let long = Self.codes(65536 * 2 + 13, seed: 21, 0, 255).map { UInt8($0) }
            var longOut = [UInt8](repeating: 0, count: long.count)
            try qLookup(table, input: long, output: &longOut, count: long.count, context: context)
            #expect(longOut == long.map { table[Int($0)] })
        }
    }

    @Test func resizeAndLayoutChanges() throws {
        let p = QuantParameters(scale: 0.1, zeroPoint: 20)
        let (c, h, w) = (11, 3, 4)
        let x = Self.codes(c * h * w, seed: 9, 0, 255).map { UInt8($0) } + [UInt8](repeating: 0, count: 16)
        var y = [UInt8](repeating: 0, count: c * 6 * 8 + 16)
        try qResize(.linear, coordinates: .halfPixel, input: x, inputParameters: p, batch: 1, channels: c, inHeight: h, inWidth: w,
                    output: &y, outputParameters: p, outHeight: 6, outWidth: 8)
        // Against the float resize of the dequantized NCHW tensor, then quantize.
        var f = [Float](repeating: 0, count: c * h * w)
        dequantizeFromNHWC(input: x, parameters: p, batch: 1, channels: c, plane: h * w, output: &f)
        for ch in 0..<c { for i in 0..<(h * w) { #expect(f[ch * h * w + i] == p.dequantize(Int32(x[i * c + ch]))) } }
        var g = [Float](repeating: 0, count: c * 48)
        try resize(.linear, coordinates: .halfPixel, input: f, planes: c, inHeight: h, inWidth: w, output: &g, outHeight: 6, outWidth: 8)
        var back = [UInt8](repeating: 0, count: c * 48)
        quantizeToNHWC(input: g, parameters: p, batch: 1, channels: c, plane: 48, output: &back)
        let off = zip(y.prefix(c * 48), back).filter { abs(Int($0) - Int($1)) > 1 }.count
        #expect(off == 0, "\(off) codes differ by more than a rounding tie")
    }
}
