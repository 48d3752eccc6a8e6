import SegGraph
import SegRewrite
import SegTensor
import Testing

/// FoldConvBiasAdd: paddle2onnx's Conv → Add(bias constant) → BatchNormalization becomes one
/// conv with FoldBatchNorm after it; constants that vary along other axes, or conv outputs
/// read elsewhere, stay as they were.
@Suite struct FoldConvBiasAddTests {
    typealias F = RewriteFixture

    /// Conv (3→4 channels, optionally with its own bias) → Add(x, constant `a`) → `tail`.
    func convAdd(constant: Tensor, constantFirst: Bool = false, convBias: Bool = false, tail: [Node] = [],
                 outputs: [String] = ["y"], extra: [String: Tensor] = [:]) throws -> Model {
        let conv = Node(name: "conv", opType: "Conv", inputs: ["x", "w"] + (convBias ? ["b"] : []), outputs: ["c"],
                        attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1]))])
        let add = Node(name: "add", opType: "Add", inputs: constantFirst ? ["a", "c"] : ["c", "a"], outputs: [tail.isEmpty ? "y" : "s"])
        var inits = extra
        inits["w"] = try F.tensor([4, 3, 3, 3], seed: 1)
        inits["b"] = try F.tensor([4], seed: 2)
        inits["a"] = constant
        return F.model([conv, add] + tail, inputs: [("x", [1, 3, 5, 5])], outputs: outputs, initializers: inits)
    }

    @Test func perChannelAddThenBatchNormBecomesOneConv() throws {
        let bn = Node(name: "bn", opType: "BatchNormalization", inputs: ["s", "gamma", "beta", "mean", "var"], outputs: ["y"])
        let stats = ["gamma": try F.tensor([4], seed: 11, lo: 0.5, hi: 1.5), "beta": try F.tensor([4], seed: 12),
                     "mean": try F.tensor([4], seed: 13), "var": try F.tensor([4], seed: 14, lo: 0.2, hi: 2)]
        let m = try convAdd(constant: try F.tensor([1, 4, 1, 1], seed: 5), tail: [bn], extra: stats)
        let (folded, count) = try F.apply(FoldConvBiasAdd(), to: m)
        #expect(count == 1 && F.ops(folded) == ["Conv": 1, "BatchNormalization": 1])
        #expect(folded.graph.nodes[0].inputs.count == 3, "the conv gained a bias")
        let (r, n) = try F.apply(FoldBatchNorm(), to: folded)
        #expect(n == 1 && F.ops(r) == ["Conv": 1])
        try F.expectSameOutputs(m, r, ["x": try F.tensor([1, 3, 5, 5], seed: 3)])
    }

    @Test(arguments: [[4, 1, 1], [1, 1, 1, 1], [1], []])
    func constantFirstOrBroadcastShapesAddToTheBias(dims: [Int]) throws {
        let m = try convAdd(constant: try F.tensor(dims, seed: 6), constantFirst: true, convBias: true)
        let (r, n) = try F.apply(FoldConvBiasAdd(), to: m)
        #expect(n == 1 && F.ops(r) == ["Conv": 1])
        #expect(r.graph.nodes[0].outputs == ["y"], "the conv now writes what the Add wrote")
        try F.expectSameOutputs(m, r, ["x": try F.tensor([1, 3, 5, 5], seed: 4)])
    }

    @Test func whatIsNotAPerChannelBiasStays() throws {
        // Varies along H and W; along the batch axis (would widen the output); rank past the output's.
        for dims in [[1, 4, 5, 5], [1, 1, 1, 5], [2, 4, 1, 1], [1, 1, 4, 1, 1]] {
            let m = try convAdd(constant: try F.tensor(dims, seed: 7))
            #expect(try F.apply(FoldConvBiasAdd(), to: m).1 == 0, "\(dims)")
        }
        // The conv output read by another node, or shown as a graph output.
        let shared = try convAdd(constant: try F.tensor([1, 4, 1, 1], seed: 8),
                                 tail: [Node(opType: "Relu", inputs: ["c"], outputs: ["z"]), Node(opType: "Relu", inputs: ["s"], outputs: ["y"])],
                                 outputs: ["y", "z"])
        #expect(try F.apply(FoldConvBiasAdd(), to: shared).1 == 0)
        let shown = try convAdd(constant: try F.tensor([1, 4, 1, 1], seed: 9), tail: [Node(opType: "Relu", inputs: ["s"], outputs: ["y"])],
                                outputs: ["y", "c"])
        #expect(try F.apply(FoldConvBiasAdd(), to: shown).1 == 0)
    }
}
