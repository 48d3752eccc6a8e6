import SegGraph
import SegReference
import SegRuntime
import SegTensor
import Testing

/// Hand-built QDQ graphs in ONNX Runtime's `quantize_static` layout (u8 activations, s8
/// per-channel weights, s32 bias with scale x_scale·w_scale) on the INT8 path against the
/// reference executor running the same graph: equal up to rounding ties (one code step of
/// the output scale), and with INT8 off nothing INT8 runs.
@Suite struct Int8PathTests {
    struct Builder {
        var g = Graph(name: "qdq")
        var seed: UInt64 = 1
        var count = 0

        mutating func next() -> Int {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
            return Int(seed >> 33)
        }
        mutating func name(_ p: String) -> String { count += 1; return "\(p)\(count)" }

        /// x → Q → DQ; returns the DQ output.
        mutating func qdq(_ x: String, scale: Float, zeroPoint: UInt8) -> String {
            let s = name("s"), z = name("z"), q = name("q"), y = name("dq")
            g.initializers[s] = Tensor(scalar: scale)
            g.initializers[z] = Tensor(scalar: zeroPoint)
            g.nodes.append(Node(opType: "QuantizeLinear", inputs: [x, s, z], outputs: [q]))
            g.nodes.append(Node(opType: "DequantizeLinear", inputs: [q, s, z], outputs: [y]))
            return y
        }

        /// Conv with DQ'd s8 per-channel weights and s32 bias on a DQ'd input of scale `xScale`.
        mutating func conv(_ x: String, xScale: Float, cin: Int, cout: Int, k: Int, stride: Int = 1, pad: Int = 0,
                           group: Int = 1, dilation: Int = 1, weightRange: Int = 127) throws -> String {
            let wq = name("wq"), ws = name("ws"), wz = name("wz"), w = name("w")
            let bq = name("bq"), bs = name("bs"), bz = name("bz"), bias = name("b"), y = name("conv")
            let n = cout * cin / group * k * k
            let codes = (0..<n).map { _ in Int8(next() % (2 * weightRange + 1) - weightRange) }
            let scales = (0..<cout).map { Float(0.002 + 0.0005 * Float($0 % 4)) }
            g.initializers[wq] = try Tensor(dims: [cout, cin / group, k, k], scalars: codes)
            g.initializers[ws] = try Tensor(dims: [cout], scalars: scales)
            g.initializers[wz] = try Tensor(dims: [cout], scalars: [Int8](repeating: 0, count: cout))
            g.initializers[bq] = try Tensor(dims: [cout], scalars: (0..<cout).map { _ in Int32(next() % 2001 - 1000) })
            g.initializers[bs] = try Tensor(dims: [cout], scalars: scales.map { $0 * xScale })
            g.initializers[bz] = try Tensor(dims: [cout], scalars: [Int32](repeating: 0, count: cout))
            g.nodes.append(Node(opType: "DequantizeLinear", inputs: [wq, ws, wz], outputs: [w], attributes: [NamedAttribute("axis", .int(0))]))
            g.nodes.append(Node(opType: "DequantizeLinear", inputs: [bq, bs, bz], outputs: [bias], attributes: [NamedAttribute("axis", .int(0))]))
            g.nodes.append(Node(opType: "Conv", inputs: [x, w, bias], outputs: [y], attributes: [
                NamedAttribute("kernel_shape", .ints([k, k])), NamedAttribute("strides", .ints([stride, stride])),
                NamedAttribute("pads", .ints([pad, pad, pad, pad])), NamedAttribute("group", .int(group)),
                NamedAttribute("dilations", .ints([dilation, dilation])),
            ]))
            return y
        }

        /// The graph so far with `t` as its output `y`.
        func model(output t: String) -> Model {
            var g = self.g
            g.nodes.append(Node(opType: "Identity", inputs: [t], outputs: ["y"]))
            g.outputs = [ValueInfo(name: "y")]
            return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
        }

        mutating func op(_ type: String, _ inputs: [String], _ attributes: [NamedAttribute] = []) -> String {
            let y = name(type)
            g.nodes.append(Node(opType: type, inputs: inputs, outputs: [y], attributes: attributes))
            return y
        }
    }

    /// A small MobileNetV3-like block chain: stem 3×3/2, pointwise+Relu, depthwise+HardSwish,
    /// squeeze-excite (GAP, 1×1 convs, HardSigmoid, channel Mul), residual Add, Resize ×2.
    static func model(weightRange: Int = 127) throws -> Model {
        var b = Builder()
        b.g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [1, 3, 12, 14].map { .value($0) }))]
        let s: Float = 0.04
        var t = b.qdq("x", scale: 0.02, zeroPoint: 128)
        t = try b.conv(t, xScale: 0.02, cin: 3, cout: 16, k: 3, stride: 2, pad: 1, weightRange: weightRange)
        t = b.qdq(t, scale: s, zeroPoint: 120)
        t = b.op("HardSwish", [t])
        let stem = b.qdq(t, scale: s, zeroPoint: 10)
        t = try b.conv(stem, xScale: s, cin: 16, cout: 24, k: 1, weightRange: weightRange)
        t = b.op("Relu", [t])
        t = b.qdq(t, scale: s, zeroPoint: 0)
        t = try b.conv(t, xScale: s, cin: 24, cout: 24, k: 3, pad: 2, group: 24, dilation: 2, weightRange: weightRange)
        t = b.qdq(t, scale: s, zeroPoint: 130)
        t = b.op("HardSwish", [t])
        let body = b.qdq(t, scale: s, zeroPoint: 9)
        t = b.op("GlobalAveragePool", [body])
        t = b.qdq(t, scale: 0.01, zeroPoint: 3)
        t = try b.conv(t, xScale: 0.01, cin: 24, cout: 8, k: 1, weightRange: weightRange)
        t = b.op("Relu", [t])
        t = b.qdq(t, scale: 0.01, zeroPoint: 0)
        t = try b.conv(t, xScale: 0.01, cin: 8, cout: 24, k: 1, weightRange: weightRange)
        t = b.qdq(t, scale: 0.02, zeroPoint: 128)
        t = b.op("HardSigmoid", [t], [NamedAttribute("alpha", .float(1.0 / 6)), NamedAttribute("beta", .float(0.5))])
        let gate = b.qdq(t, scale: 1.0 / 255, zeroPoint: 0)
        t = b.op("Mul", [body, gate])
        t = b.qdq(t, scale: s, zeroPoint: 9)
        t = try b.conv(t, xScale: s, cin: 24, cout: 16, k: 1, weightRange: weightRange)
        let proj = b.qdq(t, scale: s, zeroPoint: 125)
        t = b.op("Add", [proj, stem])
        t = b.qdq(t, scale: 0.05, zeroPoint: 110)
        b.g.initializers["sizes"] = try Tensor(dims: [4], scalars: [1, 16, 12, 14] as [Int64])
        t = b.op("Resize", [t, "", "", "sizes"], [NamedAttribute("mode", .string("linear")),
                                                  NamedAttribute("coordinate_transformation_mode", .string("half_pixel"))])
        t = b.qdq(t, scale: 0.05, zeroPoint: 110)
        return b.model(output: t)
    }

    static func input() throws -> Tensor {
        let n = 3 * 12 * 14
        return try Tensor(dims: [1, 3, 12, 14], scalars: (0..<n).map { Float(($0 * 53) % 97) / 97 * 4.4 - 2.2 })
    }

    @Test(arguments: [127, 63])
    func int8PathMatchesTheReference(weightRange: Int) throws {
        let m = try Self.model(weightRange: weightRange)
        let x = try Self.input()
        let expected = try #require(try ReferenceExecutor(model: m).run(["x": x])["y"]).scalars(as: Float.self)
        let compiled = try Compiler(int8: true).compile(m, inputShapes: ["x": x.dims])
        let counts = compiled.kernelCounts
        for kind in ["QConv (im2col)", "QConv (pointwise)", "QConv (depthwise)", "QAdd", "QMul", "QGlobalAveragePool",
                     "QLookup (HardSwish)", "QLookup (HardSigmoid)", "QResize", "QuantizeLinear (to NHWC)", "DequantizeLinear (from NHWC)"] {
            #expect(counts[kind] != nil, "\(kind) missing: \(counts)")
        }
        #expect(!counts.keys.contains { $0.contains("reference") }, "\(counts)")
        let actual = try #require(try compiled.run(["x": x])["y"]).scalars(as: Float.self)
        let steps = zip(actual, expected).map { abs($0 - $1) / 0.05 }
        let worst = steps.max() ?? 0
        let off = steps.filter { $0 > 0.5 }.count
        // Rounding ties may move a code by one step; more than that is a bug.
        #expect(worst <= 1.01, "max diff \(worst) output steps")
        // A tie flipped early moves later codes too, so a few percent may differ by one step.
        #expect(off * 20 <= actual.count, "\(off) of \(actual.count) outputs differ")
    }

    /// A U-Net decoder's forms: a Concat of two quantized branches with different parameters
    /// (one copied, one requantized by table) and MaxPools (same parameters: the max of the
    /// codes; different: then the table) stay on the INT8 path, with no DQ/float/Q around them.
    @Test func concatAndMaxPoolStayOnTheInt8Path() throws {
        var b = Builder()
        b.g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [1, 3, 12, 14].map { .value($0) }))]
        let a = b.qdq("x", scale: 0.02, zeroPoint: 128)
        let wide = b.qdq(try b.conv(a, xScale: 0.02, cin: 3, cout: 8, k: 3, pad: 1), scale: 0.04, zeroPoint: 120)
        let narrow = b.qdq(try b.conv(a, xScale: 0.02, cin: 3, cout: 5, k: 1), scale: 0.03, zeroPoint: 100)
        var t = b.qdq(b.op("Concat", [wide, narrow], [NamedAttribute("axis", .int(1))]), scale: 0.04, zeroPoint: 120)
        t = b.qdq(b.op("MaxPool", [t], [NamedAttribute("kernel_shape", .ints([3, 3])), NamedAttribute("strides", .ints([2, 2])),
                                        NamedAttribute("pads", .ints([1, 1, 1, 1]))]), scale: 0.04, zeroPoint: 120)
        t = b.qdq(b.op("MaxPool", [t], [NamedAttribute("kernel_shape", .ints([2, 2])), NamedAttribute("strides", .ints([2, 2]))]),
                  scale: 0.05, zeroPoint: 90)
        let m = b.model(output: t)
        let x = try Self.input()
        let compiled = try Compiler(int8: true).compile(m, inputShapes: ["x": x.dims])
        let counts = compiled.kernelCounts
        #expect(counts["QConcat"] == 1 && counts["QMaxPool"] == 2, "\(counts)")
        #expect(counts["Concat"] == nil && counts["MaxPool"] == nil && !counts.keys.contains { $0.contains("reference") }, "\(counts)")
        // The convs' rounding ties may move a code by one step; Concat and MaxPool add none.
        let expected = try #require(try ReferenceExecutor(model: m).run(["x": x])["y"]).scalars(as: Float.self)
        let actual = try #require(try compiled.run(["x": x])["y"]).scalars(as: Float.self)
        #expect(actual.count == expected.count && zip(actual, expected).allSatisfy { abs($0 - $1) / 0.05 <= 1.01 })
        // With convs exact (no ties) the rest is exact: the reference of the INT8 path's own
        // conv outputs is checked by int8PathMatchesTheReference; here most outputs agree exactly.
        let exact = zip(actual, expected).filter { $0 == $1 }.count
        #expect(exact * 10 >= actual.count * 9, "\(exact) of \(actual.count) exact")
    }

    /// HardSwish as the QDQ exports of torchvision write it, x · HardSigmoid(x) with the gate
    /// quantized: one table from x's codes, equal to the reference executor's QDQ graph exactly
    /// (the table is that graph evaluated on each of the 256 codes).
    @Test func aValueTimesItsOwnGateIsOneTable() throws {
        var b = Builder()
        b.g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [1, 3, 12, 14].map { .value($0) }))]
        let a = b.qdq("x", scale: 0.02, zeroPoint: 128)
        let gate = b.qdq(b.op("HardSigmoid", [a], [NamedAttribute("alpha", .float(1.0 / 6)), NamedAttribute("beta", .float(0.5))]),
                         scale: 1.0 / 255, zeroPoint: 0)
        let t = b.qdq(b.op("Mul", [a, gate]), scale: 0.015, zeroPoint: 20)
        let m = b.model(output: t)
        let x = try Self.input()
        let compiled = try Compiler(int8: true).compile(m, inputShapes: ["x": x.dims])
        let counts = compiled.kernelCounts
        #expect(counts["QLookup (HardSigmoid gate)"] == 1 && counts["QMul"] == nil && counts["QLookup (HardSigmoid)"] == nil, "\(counts)")
        let expected = try #require(try ReferenceExecutor(model: m).run(["x": x])["y"])
        #expect(try compiled.run(["x": x])["y"] == expected)
    }

    /// A weight too large for constant folding (> 1M elements) keeps its DequantizeLinear in
    /// the graph; the INT8 conv reads the codes directly, so that DQ is dead and must not run
    /// (it re-dequantized ResNet's 512×512×3×3 weights every run, 55 ms on a U-Net).
    @Test func deadWeightDequantizeIsNotExecuted() throws {
        var b = Builder()
        b.g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.value(1), .value(512), .value(2), .value(2)]))]
        var t = b.qdq("x", scale: 0.02, zeroPoint: 128)
        t = try b.conv(t, xScale: 0.02, cin: 512, cout: 256, k: 3, pad: 1)
        t = b.qdq(t, scale: 0.05, zeroPoint: 110)
        let m = b.model(output: t)
        let x = try Tensor(dims: [1, 512, 2, 2], scalars: (0..<2048).map { Float(($0 * 37) % 101) / 101 * 4 - 2 })
        let compiled = try Compiler(int8: true).compile(m, inputShapes: ["x": x.dims])
        #expect(compiled.kernelCounts["QConv (im2col)"] == 1, "\(compiled.kernelCounts)")
        var executed: [String] = []
        let actual = try #require(try compiled.run(["x": x], profile: { _, kind, _ in executed.append(kind) })["y"]).scalars(as: Float.self)
        #expect(!executed.contains("DequantizeLinear"), "\(executed)")
        let expected = try #require(try ReferenceExecutor(model: m).run(["x": x])["y"]).scalars(as: Float.self)
        #expect(zip(actual, expected).allSatisfy { abs($0 - $1) <= 0.05 * 1.01 }, "INT8 conv differs from the reference by more than one step")
    }

    /// DQ → Conv → HardSwish | HardSigmoid | Sigmoid → Q (the quantizer's fuseActivations
    /// layout): one INT8 conv whose epilogue activates in float, equal to the reference up to
    /// rounding ties.
    @Test(arguments: ["pointwise", "depthwise", "im2col"], ["HardSwish", "HardSigmoid", "Sigmoid"])
    func convWithFloatActivationRunsFused(algorithm: String, activation: String) throws {
        var b = Builder()
        let (cin, h, w) = (16, 9, 11)
        b.g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [1, cin, h, w].map { .value($0) }))]
        var t = b.qdq("x", scale: 0.03, zeroPoint: 128)
        switch algorithm {
        case "pointwise": t = try b.conv(t, xScale: 0.03, cin: cin, cout: 24, k: 1)
        case "depthwise": t = try b.conv(t, xScale: 0.03, cin: cin, cout: cin, k: 3, stride: 2, pad: 1, group: cin)
        default: t = try b.conv(t, xScale: 0.03, cin: cin, cout: 20, k: 3, pad: 1)
        }
        let attributes = activation == "HardSigmoid" ? [NamedAttribute("alpha", .float(0.2)), NamedAttribute("beta", .float(0.5))] : []
        t = b.op(activation, [t], attributes)
        let (scale, zero): (Float, UInt8) = activation == "HardSwish" ? (0.02, 15) : (1.0 / 255, 0)
        t = b.qdq(t, scale: scale, zeroPoint: zero)
        let m = b.model(output: t)
        let n = cin * h * w
        let x = try Tensor(dims: [1, cin, h, w], scalars: (0..<n).map { Float(($0 * 53) % 97) / 97 * 7.6 - 3.8 })
        let expected = try #require(try ReferenceExecutor(model: m).run(["x": x])["y"]).scalars(as: Float.self)
        let compiled = try Compiler(int8: true).compile(m, inputShapes: ["x": x.dims])
        let counts = compiled.kernelCounts
        #expect(counts["QConv (\(algorithm), \(activation))"] == 1, "\(counts)")
        #expect(!counts.keys.contains { $0.contains("→ f32") || $0 == activation || $0.hasPrefix("QLookup") }, "\(counts)")
        let actual = try #require(try compiled.run(["x": x])["y"]).scalars(as: Float.self)
        let steps = zip(actual, expected).map { abs($0 - $1) / scale }
        #expect((steps.max() ?? 0) <= 1.01, "max diff \(steps.max() ?? 0) output steps")
        let off = steps.filter { $0 > 0.5 }.count
        #expect(off * 20 <= actual.count, "\(off) of \(actual.count) outputs differ")
        // Not degenerate: the outputs use a good part of the code range.
        #expect(Set(actual).count > 30, "\(Set(actual).count) distinct outputs")
    }

    @Test func int8OffRunsFloatKernels() throws {
        let m = try Self.model()
        let x = try Self.input()
        let compiled = try Compiler(int8: false).compile(m, inputShapes: ["x": x.dims])
        #expect(!compiled.kernelCounts.keys.contains { $0.hasPrefix("Q") && !$0.hasPrefix("Quantize") }, "\(compiled.kernelCounts)")
        let expected = try #require(try ReferenceExecutor(model: m).run(["x": x])["y"]).scalars(as: Float.self)
        let actual = try #require(try compiled.run(["x": x])["y"]).scalars(as: Float.self)
        let worst = zip(actual, expected).map { abs($0 - $1) / 0.05 }.max() ?? 0
        #expect(worst <= 1.01, "max diff \(worst) output steps")
    }
}
