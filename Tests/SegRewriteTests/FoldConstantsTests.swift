import SegGraph
import SegRewrite
import SegTensor
import Testing

/// FoldConstants on its own: constant subgraphs become initializers, shape subgraphs fold
/// once input shapes are fixed, and the limits (kept op types, size) hold.
@Suite struct FoldConstantsTests {
    typealias F = RewriteFixture

    @Test func constantArithmeticBecomesAnInitializer() throws {
        let m = F.model([Node(opType: "Add", inputs: ["a", "b"], outputs: ["s"]),
                         Node(opType: "Mul", inputs: ["x", "s"], outputs: ["y"])],
                        inputs: [("x", [2, 4])], outputs: ["y"],
                        initializers: ["a": try F.tensor([4], seed: 1), "b": try F.tensor([4], seed: 2)])
        let (r, n) = try F.apply(FoldConstants(), to: m)
        #expect(n == 1)
        #expect(F.ops(r) == ["Mul": 1])
        let s = try #require(r.graph.initializers["s"])
        let a = try F.tensor([4], seed: 1).scalars(as: Float.self), b = try F.tensor([4], seed: 2).scalars(as: Float.self)
        #expect(try s.scalars(as: Float.self) == zip(a, b).map { $0 + $1 })
        try F.expectSameOutputs(m, r, ["x": try F.tensor([2, 4], seed: 3)])
    }

    /// Relu(x) flattened to [N, -1] through Shape → Gather → Unsqueeze → Concat → Reshape,
    /// with a symbolic batch dim.
    func flattenModel() throws -> Model {
        var m = F.model([
            Node(opType: "Relu", inputs: ["x"], outputs: ["r"]),
            Node(opType: "Shape", inputs: ["x"], outputs: ["shape"]),
            Node(opType: "Gather", inputs: ["shape", "zero"], outputs: ["n"]),
            Node(opType: "Unsqueeze", inputs: ["n", "axes"], outputs: ["n1"]),
            Node(opType: "Concat", inputs: ["n1", "minusOne"], outputs: ["target"], attributes: [NamedAttribute("axis", .int(0))]),
            Node(opType: "Reshape", inputs: ["r", "target"], outputs: ["y"]),
        ], inputs: [("x", [1, 2, 3, 4])], outputs: ["y"],
           initializers: ["zero": try Tensor(dims: [], scalars: [Int64(0)]), "axes": try F.i64([0]), "minusOne": try F.i64([-1])])
        m.graph.inputs[0].type = TensorType(elementType: .f32, shape: [.param("N"), .value(2), .value(3), .value(4)])
        return m
    }

    @Test func shapeSubgraphFoldsOnlyOnceTheInputShapeIsFixed() throws {
        let m = try flattenModel()
        let dynamic = try F.apply(FoldConstants(), to: m)
        #expect(dynamic.1 == 0, "a symbolic batch dim leaves the shape computation at run time")
        #expect(F.ops(dynamic.0) == F.ops(m))
        let (r, n) = try F.apply(FoldConstants(inputShapes: ["x": [1, 2, 3, 4]]), to: m)
        #expect(n == 4)
        #expect(F.ops(r) == ["Relu": 1, "Reshape": 1])
        #expect(try r.graph.initializers["target"]?.scalars(as: Int64.self) == [1, -1])
        try F.expectSameOutputs(m, r, ["x": try F.tensor([1, 2, 3, 4], seed: 4)])
    }

    @Test func quantizedWeightsStayQuantizedWhenAsked() throws {
        let m = F.model([Node(opType: "DequantizeLinear", inputs: ["wq", "scale"], outputs: ["w"]),
                         Node(opType: "Mul", inputs: ["x", "w"], outputs: ["y"])],
                        inputs: [("x", [4])], outputs: ["y"],
                        initializers: ["wq": try Tensor(dims: [4], scalars: [Int8(-3), 0, 5, 127]),
                                       "scale": try Tensor(dims: [], scalars: [Float(0.5)])])
        let (kept, n) = try F.apply(FoldConstants(keepOpTypes: FoldConstants.quantizedWeights), to: m)
        #expect(n == 0 && F.ops(kept) == ["DequantizeLinear": 1, "Mul": 1])
        let (folded, k) = try F.apply(FoldConstants(), to: m)
        #expect(k == 1 && F.ops(folded) == ["Mul": 1])
        #expect(try folded.graph.initializers["w"]?.scalars(as: Float.self) == [-1.5, 0, 2.5, 63.5])
        try F.expectSameOutputs(m, folded, ["x": try F.tensor([4], seed: 5)])
    }

    @Test func constantsLargerThanTheLimitStayComputed() throws {
        let m = F.model([Node(opType: "Expand", inputs: ["one", "size"], outputs: ["big"]),
                         Node(opType: "Add", inputs: ["x", "big"], outputs: ["y"])],
                        inputs: [("x", [64])], outputs: ["y"],
                        initializers: ["one": try Tensor(dims: [1], scalars: [Float(1)]), "size": try F.i64([64])])
        let (small, n) = try F.apply(FoldConstants(maxElements: 16), to: m)
        #expect(n == 0 && F.ops(small) == ["Expand": 1, "Add": 1])
        let (r, k) = try F.apply(FoldConstants(), to: m)
        #expect(k == 1 && F.ops(r) == ["Add": 1])
        try F.expectSameOutputs(m, r, ["x": try F.tensor([64], seed: 6)])
    }
}
