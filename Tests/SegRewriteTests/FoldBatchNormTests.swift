import SegGraph
import SegRewrite
import SegTensor
import Testing

/// FoldBatchNorm on its own: which producers it folds into, what it leaves alone, and that
/// the folded graph computes what the original did.
@Suite struct FoldBatchNormTests {
    typealias F = RewriteFixture

    /// BatchNormalization over `channels`, reading `input`, writing `output`; variance kept
    /// positive as trained statistics are.
    func batchNorm(_ input: String, _ output: String, channels: Int, attributes: [NamedAttribute] = []) throws -> (Node, [String: Tensor]) {
        let node = Node(name: "bn", opType: "BatchNormalization", inputs: [input, "gamma", "beta", "mean", "var"], outputs: [output],
                        attributes: attributes)
        return (node, ["gamma": try F.tensor([channels], seed: 11, lo: 0.5, hi: 1.5), "beta": try F.tensor([channels], seed: 12),
                       "mean": try F.tensor([channels], seed: 13), "var": try F.tensor([channels], seed: 14, lo: 0.2, hi: 2)])
    }

    func convBN(tail: [Node] = [], outputs: [String] = ["y"], bnAttributes: [NamedAttribute] = []) throws -> Model {
        let conv = Node(name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"], attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1]))])
        let (bn, stats) = try batchNorm("c", "y", channels: 4, attributes: bnAttributes)
        var inits = stats
        inits["w"] = try F.tensor([4, 3, 3, 3], seed: 1)
        inits["b"] = try F.tensor([4], seed: 2)
        return F.model([conv, bn] + tail, inputs: [("x", [1, 3, 5, 5])], outputs: outputs, initializers: inits)
    }

    @Test func convThenBatchNormBecomesOneConv() throws {
        let m = try convBN()
        #expect(F.ops(m) == ["Conv": 1, "BatchNormalization": 1])
        let (r, n) = try F.apply(FoldBatchNorm(), to: m)
        #expect(n == 1)
        #expect(F.ops(r) == ["Conv": 1])
        #expect(r.graph.nodes[0].outputs == ["y"], "the conv now writes what the BN wrote")
        try F.expectSameOutputs(m, r, ["x": try F.tensor([1, 3, 5, 5], seed: 3)])
    }

    @Test func convWithoutBiasGainsOne() throws {
        var m = try convBN()
        m.graph.nodes[0].inputs = ["x", "w"]
        let (r, n) = try F.apply(FoldBatchNorm(), to: m)
        #expect(n == 1 && F.ops(r) == ["Conv": 1])
        #expect(r.graph.nodes[0].inputs.count == 3)
        try F.expectSameOutputs(m, r, ["x": try F.tensor([1, 3, 5, 5], seed: 4)])
    }

    @Test func groupedConvTransposeFoldsPerOutputChannel() throws {
        // W: [Cin 4, Cout/g 3, 2, 2], group 2: 6 output channels.
        let ct = Node(name: "up", opType: "ConvTranspose", inputs: ["x", "w", "b"], outputs: ["c"],
                      attributes: [NamedAttribute("group", .int(2)), NamedAttribute("strides", .ints([2, 2]))])
        let (bn, stats) = try batchNorm("c", "y", channels: 6)
        var inits = stats
        inits["w"] = try F.tensor([4, 3, 2, 2], seed: 5)
        inits["b"] = try F.tensor([6], seed: 6)
        let m = F.model([ct, bn], inputs: [("x", [1, 4, 3, 3])], outputs: ["y"], initializers: inits)
        let (r, n) = try F.apply(FoldBatchNorm(), to: m)
        #expect(n == 1 && F.ops(r) == ["ConvTranspose": 1])
        try F.expectSameOutputs(m, r, ["x": try F.tensor([1, 4, 3, 3], seed: 7)])
    }

    @Test(arguments: [false, true])
    func gemmFoldsAlongItsOutputColumns(transB: Bool) throws {
        let gemm = Node(name: "fc", opType: "Gemm", inputs: ["x", "w", "b"], outputs: ["c"],
                        attributes: transB ? [NamedAttribute("transB", .int(1))] : [])
        let (bn, stats) = try batchNorm("c", "y", channels: 3)
        var inits = stats
        inits["w"] = try F.tensor(transB ? [3, 5] : [5, 3], seed: 8)
        inits["b"] = try F.tensor([3], seed: 9)
        let m = F.model([gemm, bn], inputs: [("x", [2, 5])], outputs: ["y"], initializers: inits)
        let (r, n) = try F.apply(FoldBatchNorm(), to: m)
        #expect(n == 1 && F.ops(r) == ["Gemm": 1])
        try F.expectSameOutputs(m, r, ["x": try F.tensor([2, 5], seed: 10)])
    }

    @Test func convOutputReadElsewhereOrShownIsNotFolded() throws {
        // Another reader of the conv output would see the folded (scaled) values.
        let shared = try convBN(tail: [Node(opType: "Relu", inputs: ["c"], outputs: ["z"])], outputs: ["y", "z"])
        #expect(try F.apply(FoldBatchNorm(), to: shared).1 == 0)
        // The conv output is itself a graph output.
        let shown = try convBN(outputs: ["y", "c"])
        let (r, n) = try F.apply(FoldBatchNorm(), to: shown)
        #expect(n == 0 && F.ops(r) == ["Conv": 1, "BatchNormalization": 1])
    }

    @Test func trainingModeBatchNormIsNotFolded() throws {
        let m = try convBN(bnAttributes: [NamedAttribute("training_mode", .int(1))])
        #expect(try F.apply(FoldBatchNorm(), to: m).1 == 0)
    }

    @Test func batchNormAfterAnotherOpIsLeftAlone() throws {
        let relu = Node(opType: "Relu", inputs: ["x"], outputs: ["c"])
        let (bn, stats) = try batchNorm("c", "y", channels: 3)
        let m = F.model([relu, bn], inputs: [("x", [1, 3, 2, 2])], outputs: ["y"], initializers: stats)
        let (r, n) = try F.apply(FoldBatchNorm(), to: m)
        #expect(n == 0 && F.ops(r) == ["Relu": 1, "BatchNormalization": 1])
    }
}
