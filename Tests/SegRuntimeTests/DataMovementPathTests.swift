import SegGraph
import SegReference
import SegRuntime
import SegTensor
import Testing

/// Plan-level behaviour of the data-movement paths the conformance cases cannot show: their
/// operands there are graph inputs, so a reshape can never alias and a slice never sees
/// constant starts inside a chain of fast steps.
@Suite struct DataMovementPathTests {
    static func input(_ dims: [Int]) throws -> Tensor {
        let n = dims.reduce(1, *)
        return try Tensor(dims: dims, scalars: (0..<n).map { Float(($0 * 37) % 23) - 11 })
    }

    func compare(_ m: Model, _ inputs: [String: Tensor]) throws -> CompiledModel {
        let expected = try ReferenceExecutor(model: m).run(inputs)
        let compiled = try Compiler().compile(m, inputShapes: inputs.mapValues(\.dims))
        #expect(!compiled.kernelCounts.keys.contains { $0.contains("reference") }, "\(compiled.kernelCounts)")
        let actual = try compiled.run(inputs)
        for (name, e) in expected {
            // Sigmoid's vectorised exp differs from the reference's libm in the last bits.
            let a = try #require(actual[name]).scalars(as: Float.self), r = try e.scalars(as: Float.self)
            #expect(a.count == r.count && zip(a, r).allSatisfy { abs($0 - $1) <= 1e-6 + 1e-5 * abs($1) }, "\(name) differs from the reference")
        }
        return compiled
    }

    /// Relu → Reshape → Sigmoid → Reshape (→ output): the inner reshape shares its input's
    /// memory (no step, no second slot); the last one, a graph output, is copied.
    @Test func reshapesAliasTheirInputWhenItDiesThere() throws {
        var g = Graph(name: "alias")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.value(1), .value(4), .value(6), .value(8)]))]
        g.initializers["s1"] = try Tensor(dims: [4], scalars: [1, 8, 6, 4] as [Int64])
        g.initializers["s2"] = try Tensor(dims: [2], scalars: [1, 192] as [Int64])
        g.nodes = [
            Node(opType: "Relu", inputs: ["x"], outputs: ["a"]),
            Node(opType: "Reshape", inputs: ["a", "s1"], outputs: ["b"]),
            Node(opType: "Sigmoid", inputs: ["b"], outputs: ["c"]),
            Node(opType: "Reshape", inputs: ["c", "s2"], outputs: ["y"]),
        ]
        g.outputs = [ValueInfo(name: "y")]
        let m = Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
        let compiled = try compare(m, ["x": try Self.input([1, 4, 6, 8])])
        #expect(compiled.kernelCounts["Reshape"] == 2)
        // Two reshapes planned, one executed: the aliased one has no step.
        var executed: [String] = []
        _ = try compiled.run(["x": try Self.input([1, 4, 6, 8])], profile: { _, kind, _ in executed.append(kind) })
        #expect(executed == ["Relu", "Sigmoid", "Reshape"], "\(executed)")
    }

    /// A reshape whose input is read again later must copy: aliasing would let the later
    /// reader see the same memory, which is fine, but the planner must keep it alive; the
    /// result must equal the reference either way.
    @Test func reshapeOfAValueReadTwiceStillMatches() throws {
        var g = Graph(name: "twice")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.value(1), .value(2), .value(4), .value(4)]))]
        g.initializers["s"] = try Tensor(dims: [4], scalars: [1, 4, 2, 4] as [Int64])
        g.initializers["starts"] = try Tensor(dims: [1], scalars: [1] as [Int64])
        g.initializers["ends"] = try Tensor(dims: [1], scalars: [3] as [Int64])
        g.initializers["axes"] = try Tensor(dims: [1], scalars: [2] as [Int64])
        g.nodes = [
            Node(opType: "Relu", inputs: ["x"], outputs: ["a"]),
            Node(opType: "Reshape", inputs: ["a", "s"], outputs: ["b"]),
            Node(opType: "Sigmoid", inputs: ["b"], outputs: ["c"]),
            Node(opType: "Slice", inputs: ["a", "starts", "ends", "axes"], outputs: ["d"]),
            Node(opType: "Concat", inputs: ["d", "d"], outputs: ["e"], attributes: [NamedAttribute("axis", .int(3))]),
        ]
        g.outputs = [ValueInfo(name: "c"), ValueInfo(name: "e")]
        let m = Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
        let compiled = try compare(m, ["x": try Self.input([1, 2, 4, 4])])
        #expect(compiled.kernelCounts["Slice"] == 1 && compiled.kernelCounts["Concat"] == 1)
    }

    /// The exporters' padding idiom: the image concatenated with a constant block of zeros
    /// along H, then sliced back after the network.
    @Test func concatWithAConstantOperand() throws {
        var g = Graph(name: "pad")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.value(1), .value(3), .value(5), .value(4)]))]
        g.initializers["zeros"] = try Tensor(dims: [1, 3, 3, 4], scalars: (0..<36).map { Float($0) * 0.5 })
        g.nodes = [
            Node(opType: "Relu", inputs: ["x"], outputs: ["a"]),
            Node(opType: "Concat", inputs: ["a", "zeros"], outputs: ["y"], attributes: [NamedAttribute("axis", .int(2))]),
        ]
        g.outputs = [ValueInfo(name: "y")]
        let m = Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
        let compiled = try compare(m, ["x": try Self.input([1, 3, 5, 4])])
        #expect(compiled.kernelCounts["Concat"] == 1, "\(compiled.kernelCounts)")
    }
}
