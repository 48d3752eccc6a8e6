import SegGraph
import SegRewrite
import SegTensor
import Testing

/// EliminateIdentity on its own: Identity and inference Dropout go, graph output names stay,
/// a Dropout whose mask is used or that trains stays.
@Suite struct EliminateIdentityTests {
    typealias F = RewriteFixture

    @Test func identityAndDropoutBetweenOpsAreRemoved() throws {
        let m = F.model([Node(opType: "Relu", inputs: ["x"], outputs: ["a"]),
                         Node(opType: "Identity", inputs: ["a"], outputs: ["b"]),
                         Node(opType: "Dropout", inputs: ["b"], outputs: ["c"]),
                         Node(opType: "Sigmoid", inputs: ["c"], outputs: ["y"])],
                        inputs: [("x", [2, 3])], outputs: ["y"])
        let (r, n) = try F.apply(EliminateIdentity(), to: m)
        #expect(n == 2)
        #expect(F.ops(r) == ["Relu": 1, "Sigmoid": 1])
        #expect(r.graph.nodes[1].inputs == ["a"])
        try F.expectSameOutputs(m, r, ["x": try F.tensor([2, 3], seed: 1)])
    }

    @Test func identityWritingAGraphOutputRenamesItsProducer() throws {
        let m = F.model([Node(opType: "Relu", inputs: ["x"], outputs: ["a"]),
                         Node(opType: "Identity", inputs: ["a"], outputs: ["y"])],
                        inputs: [("x", [2, 3])], outputs: ["y"])
        let (r, n) = try F.apply(EliminateIdentity(), to: m)
        #expect(n == 1 && F.ops(r) == ["Relu": 1])
        #expect(r.graph.nodes[0].outputs == ["y"] && r.graph.outputs.map(\.name) == ["y"])
        try F.expectSameOutputs(m, r, ["x": try F.tensor([2, 3], seed: 2)])
    }

    @Test func identityOfAGraphInputToAGraphOutputStays() throws {
        // No producer to rename: removing it would change the graph's interface.
        let m = F.model([Node(opType: "Identity", inputs: ["x"], outputs: ["y"])], inputs: [("x", [2])], outputs: ["y"])
        #expect(try F.apply(EliminateIdentity(), to: m).1 == 0)
    }

    @Test func dropoutWhoseMaskIsUsedOrThatTrainsStays() throws {
        let masked = F.model([Node(opType: "Dropout", inputs: ["x"], outputs: ["a", "mask"]),
                              Node(opType: "Relu", inputs: ["a"], outputs: ["y"])],
                             inputs: [("x", [2, 3])], outputs: ["y", "mask"])
        let (r, n) = try F.apply(EliminateIdentity(), to: masked)
        #expect(n == 0 && F.ops(r) == ["Dropout": 1, "Relu": 1])
        let training = F.model([Node(opType: "Dropout", inputs: ["x", "", "train"], outputs: ["a"]),
                                Node(opType: "Relu", inputs: ["a"], outputs: ["y"])],
                               inputs: [("x", [2, 3])], outputs: ["y"],
                               initializers: ["train": try Tensor(dims: [], scalars: [true])])
        #expect(try F.apply(EliminateIdentity(), to: training).1 == 0)
        // The same Dropout with training off goes.
        var off = training
        off.graph.initializers["train"] = try Tensor(dims: [], scalars: [false])
        #expect(try F.apply(EliminateIdentity(), to: off).1 == 1)
    }
}
