import SegGraph
import SegReference
import SegRuntime
import SegTensor
import Testing

/// Statically quantized MatMuls in QDQ form (x → Q → DQ, W as DQ of s8 codes, then MatMul and
/// optionally a bias Add) on the runtime's integer GEMM against the reference executor, which
/// computes the graph as written: dequantized floats, a float product, a float bias.
///
/// The runtime sums the codes exactly in i32 and scales once; the reference accumulates
/// dequantized floats. They may differ by float rounding of the sum, and with a bias by half a
/// step of x_scale · w_scale (the bias goes into the integer sum as codes), nothing more.
@Suite struct QDQMatMulStepTests {
    static let xScale: Float = 0.0173, xZero: UInt8 = 121

    /// x [2, 5, k] f32 → Q/DQ (u8, per tensor) → MatMul with DQ(w s8 [k, n]) (one scale or one
    /// per column) → [Add bias [n]] → y.
    func model(k: Int, n: Int, perColumn: Bool, bias: Bool) throws -> Model {
        var nodes = [
            Node(opType: "QuantizeLinear", inputs: ["x", "xs", "xz"], outputs: ["xq"]),
            Node(opType: "DequantizeLinear", inputs: ["xq", "xs", "xz"], outputs: ["xd"]),
            Node(opType: "DequantizeLinear", inputs: ["w", "ws"], outputs: ["wd"],
                 attributes: perColumn ? [NamedAttribute("axis", .int(1))] : []),
            Node(opType: "MatMul", inputs: ["xd", "wd"], outputs: [bias ? "p" : "y"]),
        ]
        if bias { nodes.append(Node(opType: "Add", inputs: ["b", "p"], outputs: ["y"])) }
        let ws = perColumn ? try Tensor(dims: [n], scalars: (0..<n).map { Float($0 % 7 + 1) * 0.0031 }) : Tensor(scalar: Float(0.0047))
        var inits: [String: Tensor] = [
            "w": try DynamicQuantStepTests.weights(k: k, n: n, seed: n), "ws": ws,
            "xs": Tensor(scalar: Self.xScale), "xz": Tensor(scalar: Self.xZero),
        ]
        if bias { inits["b"] = try Tensor(dims: [n], scalars: (0..<n).map { Float($0) * 0.37 - 2.5 }) }
        return QuantStepTests.model(nodes, inputs: [("x", [2, 5, k])], outputs: ["y"], initializers: inits)
    }

    @Test(arguments: [(16, 24, false, false), (32, 40, true, true), (20, 17, true, false), (96, 33, false, true)])
    func integerProductMatchesTheQDQGraph(k: Int, n: Int, perColumn: Bool, bias: Bool) throws {
        let m = try model(k: k, n: n, perColumn: perColumn, bias: bias)
        let x = ["x": try QuantStepTests.input([2, 5, k], seed: k + n)]
        let expected = try #require(try ReferenceExecutor(model: m).run(x)["y"]).scalars(as: Float.self)
        let compiled = try Compiler().compile(m, inputShapes: x.mapValues(\.dims))
        let kind = bias ? "QMatMul+bias → f32" : "QMatMul → f32"
        #expect(compiled.kernelCounts[kind] == 1, "\(compiled.kernelCounts)")
        // No float product, no per-run weight dequantization, no reference step left.
        #expect(compiled.kernelCounts["MatMul"] == nil && compiled.kernelCounts["DequantizeLinear"] == nil, "\(compiled.kernelCounts)")
        #expect(!compiled.kernelCounts.keys.contains { $0.contains("reference") }, "\(compiled.kernelCounts)")
        let actual = try #require(try compiled.run(x)["y"]).scalars(as: Float.self)
        #expect(actual.count == expected.count)
        let ws = try #require(m.graph.initializers["ws"]).scalars(as: Float.self)
        let quantum = Self.xScale * (ws.max() ?? 0)
        var worst: Float = 0
        for (a, e) in zip(actual, expected) {
            let allowed = (bias ? quantum / 2 : 0) + 2e-6 * Swift.max(1, abs(e)) * Float(k).squareRoot()
            worst = Swift.max(worst, abs(a - e) - allowed)
        }
        #expect(worst <= 0, "worst excess over the allowed difference: \(worst)")
    }

    /// Our quantizer's form: the product quantized and dequantized (u8), then a bias Add. The
    /// epilogue rounds to codes and adds the bias in float as the unfused steps do, so the
    /// fused step equals the runtime without the fusion (the same QMatMul, then FakeQuantize
    /// and Add steps) exactly, and the reference within one output code.
    @Test(arguments: [(16, 24, true), (40, 33, false)])
    func productFakeQuantizedThenBiasedInTheEpilogue(k: Int, n: Int, biasAfter: Bool) throws {
        var m = try model(k: k, n: n, perColumn: true, bias: false)
        m.graph.nodes[3].outputs = ["p"]
        m.graph.nodes += [
            Node(opType: "QuantizeLinear", inputs: ["p", "ys", "yz"], outputs: ["pq"]),
            Node(opType: "DequantizeLinear", inputs: ["pq", "ys", "yz"], outputs: [biasAfter ? "pd" : "y"]),
        ]
        if biasAfter { m.graph.nodes.append(Node(opType: "Add", inputs: ["pd", "b"], outputs: ["y"])) }
        m.graph.initializers["ys"] = Tensor(scalar: Float(0.021))
        m.graph.initializers["yz"] = Tensor(scalar: UInt8(131))
        m.graph.initializers["b"] = try Tensor(dims: [n], scalars: (0..<n).map { Float($0) * 0.11 - 1.3 })
        let x = ["x": try QuantStepTests.input([2, 5, k], seed: 3)]
        let compiled = try Compiler().compile(m, inputShapes: x.mapValues(\.dims))
        let kind = "QMatMul+fake-quantize" + (biasAfter ? "+bias" : "") + " → f32"
        #expect(compiled.kernelCounts[kind] == 1, "\(compiled.kernelCounts)")
        #expect(compiled.kernelCounts["FakeQuantize"] == nil && compiled.kernelCounts["Add"] == nil, "\(compiled.kernelCounts)")
        let actual = try #require(try compiled.run(x)["y"]).scalars(as: Float.self)
        // The same graph with the product also an output: the fusion cannot apply, the steps run apart.
        var apart = m
        apart.graph.outputs.append(ValueInfo(name: "p"))
        let unfused = try Compiler().compile(apart, inputShapes: x.mapValues(\.dims))
        #expect(unfused.kernelCounts["QMatMul → f32"] == 1 && unfused.kernelCounts["FakeQuantize"] == 1, "\(unfused.kernelCounts)")
        let separate = try #require(try unfused.run(x)["y"]).scalars(as: Float.self)
        #expect(actual == separate)
        let expected = try #require(try ReferenceExecutor(model: m).run(x)["y"]).scalars(as: Float.self)
        #expect(zip(actual, expected).allSatisfy { abs($0 - $1) <= 0.021 * 1.01 })
    }

    /// Weights with a zero point, a signed (s8) activation and a 3-D weight are not this
    /// pattern: they keep the float path.
    @Test func otherFormsKeepTheFloatPath() throws {
        var m = try model(k: 16, n: 8, perColumn: false, bias: false)
        m.graph.initializers["xz"] = Tensor(scalar: Int8(3))
        let x = ["x": try QuantStepTests.input([2, 5, 16], seed: 1)]
        let compiled = try Compiler().compile(m, inputShapes: x.mapValues(\.dims))
        #expect(compiled.kernelCounts["QMatMul → f32"] == nil, "\(compiled.kernelCounts)")
        // The float path: the same numbers up to float summation order.
        let expected = try #require(try ReferenceExecutor(model: m).run(x)["y"]).scalars(as: Float.self)
        let actual = try #require(try compiled.run(x)["y"]).scalars(as: Float.self)
        #expect(zip(actual, expected).allSatisfy { abs($0 - $1) <= 1e-5 * Swift.max(1, abs($1)) })
    }
}
