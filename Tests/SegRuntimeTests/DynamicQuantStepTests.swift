import SegGraph
import SegReference
import SegRuntime
import SegTensor
import Testing

/// The dynamic quantization pattern `quantize_dynamic` writes (DynamicQuantizeLinear →
/// MatMulInteger → Cast → Mul by the scale product) on the runtime against the reference
/// executor, bit for bit: the same codes, scale and zero point, the same float sums.
@Suite struct DynamicQuantStepTests {
    /// Weights over the whole s8 range (the maddubs path would saturate on some pairs).
    static func weights(k: Int, n: Int, seed: Int) throws -> Tensor {
        try Tensor(dims: [k, n], scalars: (0..<(k * n)).map { i in Int8(truncatingIfNeeded: (i * 73 + seed * 29) % 256 - 128) })
    }

    func model(k: Int, n: Int, bZero: Bool, seed: Int) throws -> Model {
        var nodes = [
            Node(opType: "DynamicQuantizeLinear", inputs: ["x"], outputs: ["xq", "xs", "xz"]),
            Node(opType: "MatMulInteger", inputs: ["xq", "w"] + (bZero ? ["xz", "wz"] : ["xz"]), outputs: ["acc"]),
            Node(opType: "Cast", inputs: ["acc"], outputs: ["accf"], attributes: [NamedAttribute("to", .int(1))]),
            Node(opType: "Mul", inputs: ["xs", "ws"], outputs: ["scale"]),
            Node(opType: "Mul", inputs: ["accf", "scale"], outputs: ["y"]),
        ]
        nodes.append(Node(opType: "Relu", inputs: ["y"], outputs: ["r"]))
        // Scalar weight scale, or one per column (quantize_dynamic's per_channel).
        let ws = n % 2 == 0 ? Tensor(scalar: Float(0.0123)) : try Tensor(dims: [n], scalars: (0..<n).map { Float($0 + 1) * 0.00371 })
        var inits: [String: Tensor] = ["w": try Self.weights(k: k, n: n, seed: seed), "ws": ws]
        if bZero { inits["wz"] = Tensor(scalar: Int8(0)) }
        return QuantStepTests.model(nodes, inputs: [("x", [2, 5, k])], outputs: ["r", "xq", "xs", "xz"], initializers: inits)
    }

    @Test(arguments: [(16, 24, false), (32, 40, true), (20, 17, false)])
    func dynamicMatMulMatchesTheReference(k: Int, n: Int, bZero: Bool) throws {
        let m = try model(k: k, n: n, bZero: bZero, seed: k)
        let x = ["x": try QuantStepTests.input([2, 5, k], seed: n)]
        let expected = try ReferenceExecutor(model: m).run(x)
        let compiled = try Compiler().compile(m, inputShapes: x.mapValues(\.dims))
        #expect(compiled.kernelCounts["DynamicQuantizeLinear"] == 1, "\(compiled.kernelCounts)")
        // The dequantizing Mul by x_scale · w_scale is folded into the product's epilogue.
        #expect(compiled.kernelCounts["MatMulInteger+Cast+Mul"] == 1, "\(compiled.kernelCounts)")
        #expect(!compiled.kernelCounts.keys.contains { $0.contains("reference") }, "\(compiled.kernelCounts)")
        let actual = try compiled.run(x)
        for (name, e) in expected { #expect(actual[name] == e, "\(name) differs") }
    }

    /// A range found in blocks over the pool: the minimum and maximum sit in different blocks,
    /// far from the first.
    @Test func dynamicQuantizeOfALargeTensorMatchesTheReference() throws {
        let n = 3 * (1 << 15) + 11
        var values = (0..<n).map { Float(($0 * 53) % 211) * 0.01 - 0.5 }
        values[n - 5] = -3.75
        values[1 << 16 + 7] = 9.5
        let m = QuantStepTests.model([Node(opType: "DynamicQuantizeLinear", inputs: ["x"], outputs: ["q", "s", "z"])],
                                     inputs: [("x", [1, n])], outputs: ["q", "s", "z"], initializers: [:])
        let x = ["x": try Tensor(dims: [1, n], scalars: values)]
        let expected = try ReferenceExecutor(model: m).run(x)
        let compiled = try Compiler().compile(m, inputShapes: [("x", [1, n])].reduce(into: [:]) { $0[$1.0] = $1.1 })
        #expect(compiled.kernelCounts["DynamicQuantizeLinear"] == 1)
        let actual = try compiled.run(x)
        for (name, e) in expected { #expect(actual[name] == e, "\(name) differs") }
    }

    @Test func constantInputAndWeightZeroPointsThatAreNotZeroStayOnTheReference() throws {
        // A non-zero weight zero point needs the activations' row sums: not this kernel's job.
        var m = try model(k: 8, n: 8, bZero: true, seed: 2)
        m.graph.initializers["wz"] = Tensor(scalar: Int8(3))
        let x = ["x": try Tensor(dims: [2, 5, 8], scalars: [Float](repeating: 0.75, count: 80))]  // constant: the range still reaches 0
        let expected = try ReferenceExecutor(model: m).run(x)
        let compiled = try Compiler().compile(m, inputShapes: x.mapValues(\.dims))
        #expect(compiled.kernelCounts["MatMulInteger+Cast"] == nil)
        #expect(compiled.kernelCounts["DynamicQuantizeLinear"] == 1)
        let actual = try compiled.run(x)
        for (name, e) in expected { #expect(actual[name] == e, "\(name) differs") }
    }

    /// DynamicQuantizeLinear → ConvInteger → Cast → Mul, NCHW, with the geometry ONNX allows.
    func convModel(cin: Int, cout: Int, kernel: Int, stride: Int, pad: Int, group: Int, seed: Int) throws -> Model {
        let w = try Tensor(dims: [cout, cin / group, kernel, kernel],
                           scalars: (0..<(cout * cin / group * kernel * kernel)).map { i in Int8(truncatingIfNeeded: (i * 91 + seed * 17) % 256 - 128) })
        let conv = Node(opType: "ConvInteger", inputs: ["xq", "w", "xz"], outputs: ["acc"], attributes: [
            NamedAttribute("kernel_shape", .ints([kernel, kernel])), NamedAttribute("strides", .ints([stride, stride])),
            NamedAttribute("pads", .ints([pad, pad, pad, pad])), NamedAttribute("group", .int(group)),
        ])
        // Odd seeds: the dequantizing product x_scale · w_scale the step folds in (per output
        // channel, [1, C, 1, 1], when the seed is also a multiple of 3); even: a Mul it leaves alone.
        let scaled = seed % 2 == 1
        let ws = seed % 3 == 0 ? try Tensor(dims: [1, cout, 1, 1], scalars: (0..<cout).map { Float($0 + 2) * 0.0013 }) : Tensor(scalar: Float(0.0071))
        return QuantStepTests.model([
            Node(opType: "DynamicQuantizeLinear", inputs: ["x"], outputs: ["xq", "xs", "xz"]),
            conv,
            Node(opType: "Cast", inputs: ["acc"], outputs: ["accf"], attributes: [NamedAttribute("to", .int(1))]),
            Node(opType: "Mul", inputs: ["ws", "xs"], outputs: ["scale"]),
            Node(opType: "Mul", inputs: ["accf", scaled ? "scale" : "xs"], outputs: ["y"]),
        ], inputs: [("x", [2, cin, 7, 9])], outputs: ["y"], initializers: ["w": w, "ws": ws])
    }

    @Test(arguments: [(3, 8, 3, 1, 1, 1), (8, 16, 3, 2, 1, 1), (16, 9, 1, 1, 0, 1), (8, 8, 3, 1, 1, 8), (4, 6, 4, 4, 0, 1), (5, 6, 3, 1, 1, 1), (7, 8, 3, 1, 1, 1)])
    func dynamicConvMatchesTheReference(cin: Int, cout: Int, kernel: Int, stride: Int, pad: Int, group: Int) throws {
        let m = try convModel(cin: cin, cout: cout, kernel: kernel, stride: stride, pad: pad, group: group, seed: cin + cout)
        let x = ["x": try QuantStepTests.input([2, cin, 7, 9], seed: kernel)]
        let expected = try ReferenceExecutor(model: m).run(x)
        let compiled = try Compiler().compile(m, inputShapes: x.mapValues(\.dims))
        let fused = (cin + cout) % 2 == 1 ? "ConvInteger+Cast+Mul" : "ConvInteger+Cast"
        #expect(compiled.kernelCounts[fused] == 1, "\(compiled.kernelCounts)")
        #expect(!compiled.kernelCounts.keys.contains { $0.contains("reference") }, "\(compiled.kernelCounts)")
        let actual = try compiled.run(x)
        for (name, e) in expected { #expect(actual[name] == e, "\(name) differs") }
    }
}
