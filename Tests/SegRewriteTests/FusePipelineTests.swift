import Fuse
import SegGraph
import SegProtocol
import SegRewrite
import SegTechnique
import SegTensor
import Testing

/// The Fuse technique's rewrites one after another on one graph (op counts after each, as
/// ONNX Runtime's transformer tests check), the fixed point `RewriteManager` reaches, and
/// the technique's report on the same graph.
@Suite struct FusePipelineTests {
    typealias F = RewriteFixture

    /// x → Identity → Conv → BN → Relu → Mul(·, a + b) → Dropout → y, plus an unread Sigmoid.
    func model() throws -> Model {
        F.model([
            Node(opType: "Identity", inputs: ["x"], outputs: ["i"]),
            Node(name: "conv", opType: "Conv", inputs: ["i", "w", "b"], outputs: ["c"], attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1]))]),
            Node(name: "bn", opType: "BatchNormalization", inputs: ["c", "gamma", "beta", "mean", "var"], outputs: ["n"]),
            Node(opType: "Relu", inputs: ["n"], outputs: ["r"]),
            Node(opType: "Add", inputs: ["ka", "kb"], outputs: ["k"]),
            Node(opType: "Mul", inputs: ["r", "k"], outputs: ["m"]),
            Node(opType: "Dropout", inputs: ["m"], outputs: ["y"]),
            Node(opType: "Sigmoid", inputs: ["x"], outputs: ["dead"]),
        ], inputs: [("x", [1, 3, 4, 4])], outputs: ["y"], initializers: [
            "w": try F.tensor([4, 3, 3, 3], seed: 1), "b": try F.tensor([4], seed: 2),
            "gamma": try F.tensor([4], seed: 3, lo: 0.5, hi: 1.5), "beta": try F.tensor([4], seed: 4),
            "mean": try F.tensor([4], seed: 5), "var": try F.tensor([4], seed: 6, lo: 0.2, hi: 2),
            "ka": try F.tensor([1, 4, 1, 1], seed: 7), "kb": try F.tensor([1, 4, 1, 1], seed: 8),
        ])
    }

    var input: [String: Tensor] { get throws { ["x": try F.tensor([1, 3, 4, 4], seed: 9)] } }

    @Test func eachRewriteInTurnRemovesItsOwnOps() throws {
        let m = try model()
        #expect(F.ops(m) == ["Identity": 1, "Conv": 1, "BatchNormalization": 1, "Relu": 1, "Add": 1, "Mul": 1, "Dropout": 1, "Sigmoid": 1])

        let (a, na) = try F.apply(EliminateIdentity(), to: m)
        #expect(na == 2)
        #expect(F.ops(a) == ["Conv": 1, "BatchNormalization": 1, "Relu": 1, "Add": 1, "Mul": 1, "Sigmoid": 1])
        try F.expectSameOutputs(m, a, try input)

        let (b, nb) = try F.apply(FoldConstants(keepOpTypes: FoldConstants.quantizedWeights), to: a)
        #expect(nb == 1)
        #expect(F.ops(b) == ["Conv": 1, "BatchNormalization": 1, "Relu": 1, "Mul": 1, "Sigmoid": 1])
        try F.expectSameOutputs(m, b, try input)

        let (c, nc) = try F.apply(FoldBatchNorm(), to: b)
        #expect(nc == 1)
        #expect(F.ops(c) == ["Conv": 1, "Relu": 1, "Mul": 1, "Sigmoid": 1])
        try F.expectSameOutputs(m, c, try input)

        let (d, nd) = try F.apply(EliminateDeadNodes(), to: c)
        // The Sigmoid, and the initializers nothing reads any more: the conv's original w and
        // b, the four BN statistics, and the two addends now folded into "k".
        #expect(nd == 1 + 2 + 4 + 2)
        #expect(F.ops(d) == ["Conv": 1, "Relu": 1, "Mul": 1])
        #expect(Set(d.graph.initializers.names).count == 3)
        try F.expectSameOutputs(m, d, try input)
    }

    @Test func theManagerRerunsRewritesUntilNoneApplies() throws {
        // FoldBatchNorm runs first and finds an Identity between Conv and BN; only after
        // EliminateIdentity removes it does the second round fold.
        let conv = Node(opType: "Conv", inputs: ["x", "w"], outputs: ["c"])
        let m = F.model([conv, Node(opType: "Identity", inputs: ["c"], outputs: ["i"]),
                         Node(opType: "BatchNormalization", inputs: ["i", "gamma", "beta", "mean", "var"], outputs: ["y"])],
                        inputs: [("x", [1, 2, 3, 3])], outputs: ["y"], initializers: [
                            "w": try F.tensor([2, 2, 1, 1], seed: 1), "gamma": try F.tensor([2], seed: 2, lo: 0.5, hi: 1.5),
                            "beta": try F.tensor([2], seed: 3), "mean": try F.tensor([2], seed: 4), "var": try F.tensor([2], seed: 5, lo: 0.5, hi: 1)])
        let (r, counts) = try RewriteManager([FoldBatchNorm(), EliminateIdentity()]).run(m)
        #expect(counts.map(\.name) == ["foldBatchNorm", "eliminateIdentity"])
        #expect(counts.map(\.count) == [1, 1])
        #expect(F.ops(r) == ["Conv": 1])
        try F.expectSameOutputs(m, r, ["x": try F.tensor([1, 2, 3, 3], seed: 6)])
    }

    @Test func fuseReportsWhatEachRewriteDid() async throws {
        let m = try model()
        let result = try await FuseTechnique(parameters: [:]).apply(to: m, in: TechniqueContext())
        #expect(F.ops(result.model) == ["Conv": 1, "Relu": 1, "Mul": 1])
        let rewrites = result.details["rewrites"]
        #expect(rewrites?["eliminateIdentity"]?.intValue == 2)
        #expect(rewrites?["foldConstants"]?.intValue == 1)
        #expect(rewrites?["foldBatchNorm"]?.intValue == 1)
        #expect(rewrites?["eliminateDeadNodes"]?.intValue == 9)
        #expect(result.details["nodesBefore"]?.intValue == 8)
        #expect(result.details["nodesAfter"]?.intValue == 3)
        #expect(result.details["fusableConvActivations"]?["Relu"]?.intValue == 1)
        try F.expectSameOutputs(m, result.model, try input)
    }

    @Test func fuseParametersTurnRewritesOffAndFixShapes() async throws {
        let m = try model()
        let keepBN = try await FuseTechnique(parameters: ["foldBatchNorm": false]).apply(to: m, in: TechniqueContext())
        #expect(F.ops(keepBN.model) == ["Conv": 1, "BatchNormalization": 1, "Relu": 1, "Mul": 1])
        #expect(keepBN.details["rewrites"]?["foldBatchNorm"] == nil)
        // BN between the conv and the Relu: nothing for the runtime to fuse.
        #expect(keepBN.details["fusableConvActivations"]?.objectValue?.isEmpty == true)
        try F.expectSameOutputs(m, keepBN.model, try input)

        let only = try await FuseTechnique(parameters: ["foldBatchNorm": false, "foldConstants": false, "eliminateDeadNodes": false])
            .apply(to: m, in: TechniqueContext())
        #expect(F.ops(only.model) == ["Conv": 1, "BatchNormalization": 1, "Relu": 1, "Add": 1, "Mul": 1, "Sigmoid": 1])

        #expect(throws: TechniqueError.self) { _ = try FuseTechnique(parameters: ["foldBatchnorm": false]) }
        #expect(throws: TechniqueError.self) { _ = try FuseTechnique(parameters: ["inputShapes": ["x": [0]]]) }
    }
}
