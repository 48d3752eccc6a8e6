import SegGraph
import SegReference
import SegRuntime
import SegTensor
import Testing

/// QuantizeLinear / DequantizeLinear fast steps against the reference executor: same codes,
/// same floats, bit for bit (both divide by the scale and round half to even).
@Suite struct QuantStepTests {
    static func model(_ nodes: [Node], inputs: [(String, [Int])], outputs: [String], initializers: [String: Tensor], opset: Int = 17) -> Model {
        var g = Graph(name: "q")
        g.inputs = inputs.map { ValueInfo(name: $0.0, type: TensorType(elementType: .f32, shape: $0.1.map { .value($0) })) }
        for (k, v) in initializers.sorted(by: { $0.key < $1.key }) { g.initializers[k] = v }
        g.nodes = nodes
        g.outputs = outputs.map { ValueInfo(name: $0) }
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: opset)])
    }

    static func input(_ dims: [Int], seed: Int = 1) throws -> Tensor {
        let n = dims.reduce(1, *)
        // Values on and off the rounding ties, plus out-of-range ones that saturate.
        let v: [Float] = (0..<n).map { i in
            let t = Float((i * 37 + seed * 11) % 101) - 50
            return i % 7 == 0 ? t * 0.25 : t * 0.173 + (i % 3 == 0 ? 40 : 0)
        }
        return try Tensor(dims: dims, scalars: v)
    }

    func check(_ m: Model, _ inputs: [String: Tensor], expectKinds: [String]) throws {
        let expected = try ReferenceExecutor(model: m).run(inputs)
        let compiled = try Compiler().compile(m, inputShapes: inputs.mapValues(\.dims))
        for k in expectKinds { #expect(compiled.kernelCounts[k] != nil, "\(k) missing from \(compiled.kernelCounts)") }
        #expect(!compiled.kernelCounts.keys.contains { $0.contains("reference") }, "\(compiled.kernelCounts)")
        let actual = try compiled.run(inputs)
        for (name, e) in expected { #expect(actual[name] == e, "\(name) differs") }
    }

    @Test(arguments: [false, true])
    func perTensorRoundTrip(signed: Bool) throws {
        let zp = signed ? Tensor(scalar: Int8(-3)) : Tensor(scalar: UInt8(131))
        let m = Self.model([
            Node(opType: "QuantizeLinear", inputs: ["x", "s", "z"], outputs: ["q"]),
            Node(opType: "DequantizeLinear", inputs: ["q", "s", "z"], outputs: ["y"]),
        ], inputs: [("x", [1, 3, 5, 7])], outputs: ["q", "y"], initializers: ["s": Tensor(scalar: Float(0.05)), "z": zp])
        try check(m, ["x": try Self.input([1, 3, 5, 7])], expectKinds: ["QuantizeLinear", "DequantizeLinear"])
    }

    @Test func fakeQuantFusesQIntoItsOnlyDQ() throws {
        let m = Self.model([
            Node(opType: "QuantizeLinear", inputs: ["x", "s", "z"], outputs: ["q"]),
            Node(opType: "DequantizeLinear", inputs: ["q", "s", "z"], outputs: ["y"]),
            Node(opType: "Relu", inputs: ["y"], outputs: ["r"]),
        ], inputs: [("x", [2, 4, 3, 3])], outputs: ["r"], initializers: ["s": Tensor(scalar: Float(0.1)), "z": Tensor(scalar: UInt8(7))])
        try check(m, ["x": try Self.input([2, 4, 3, 3])], expectKinds: ["FakeQuantize"])
        let compiled = try Compiler().compile(m, inputShapes: ["x": [2, 4, 3, 3]])
        #expect(compiled.kernelCounts["QuantizeLinear"] == nil && compiled.kernelCounts["DequantizeLinear"] == nil)
    }

    @Test func perAxisScalesAndZeroPoints() throws {
        let s = try Tensor(dims: [4], scalars: [0.02, 0.1, 0.5, 0.03] as [Float])
        let z = try Tensor(dims: [4], scalars: [0, -5, 3, 100] as [Int8])
        let m = Self.model([
            Node(opType: "QuantizeLinear", inputs: ["x", "s", "z"], outputs: ["q"], attributes: [NamedAttribute("axis", .int(1))]),
            Node(opType: "DequantizeLinear", inputs: ["q", "s", "z"], outputs: ["y"], attributes: [NamedAttribute("axis", .int(1))]),
            Node(opType: "QuantizeLinear", inputs: ["x", "s2"], outputs: ["q2"]),
            Node(opType: "DequantizeLinear", inputs: ["q2", "s2"], outputs: ["y2"]),
        ], inputs: [("x", [2, 4, 3, 5])], outputs: ["q", "y", "y2"], initializers: ["s": s, "z": z, "s2": Tensor(scalar: Float(0.25))])
        try check(m, ["x": try Self.input([2, 4, 3, 5], seed: 3)], expectKinds: ["QuantizeLinear", "DequantizeLinear"])
    }

    @Test func nanAndInfinitySaturateLikeTheReference() throws {
        let x = try Tensor(dims: [1, 1, 1, 12], scalars: [.nan, .infinity, -.infinity, 1e30, -1e30, 0.5, 1.5, 2.5, -0.5, -1.5, 12.75, 3] as [Float])
        let m = Self.model([
            Node(opType: "QuantizeLinear", inputs: ["x", "s", "z"], outputs: ["q"]),
            Node(opType: "DequantizeLinear", inputs: ["q", "s", "z"], outputs: ["y"]),
        ], inputs: [("x", [1, 1, 1, 12])], outputs: ["q", "y"], initializers: ["s": Tensor(scalar: Float(1)), "z": Tensor(scalar: UInt8(2))])
        try check(m, ["x": x], expectKinds: ["QuantizeLinear"])
    }
}
