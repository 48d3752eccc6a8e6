import SegGraph
import SegRewrite
import SegTensor
import Testing

/// EliminateDeadNodes on its own: unread nodes (transitively) and unread initializers go,
/// everything a graph output depends on stays.
@Suite struct EliminateDeadNodesTests {
    typealias F = RewriteFixture

    @Test func unreadChainsAndInitializersAreRemoved() throws {
        let m = F.model([Node(opType: "Relu", inputs: ["x"], outputs: ["y"]),
                         Node(opType: "Sigmoid", inputs: ["x"], outputs: ["d1"]),
                         Node(opType: "Add", inputs: ["d1", "bias"], outputs: ["d2"])],
                        inputs: [("x", [2, 3])], outputs: ["y"],
                        initializers: ["bias": try F.tensor([3], seed: 1), "unused": try F.tensor([5], seed: 2)])
        let (r, n) = try F.apply(EliminateDeadNodes(), to: m)
        // Two nodes (Add, then the Sigmoid it alone read) and two initializers.
        #expect(n == 4)
        #expect(F.ops(r) == ["Relu": 1])
        #expect(r.graph.initializers.count == 0)
        try F.expectSameOutputs(m, r, ["x": try F.tensor([2, 3], seed: 3)])
    }

    @Test func aNodeWithOneReadOutputStays() throws {
        // Split's second output is unread, but its first is: the node stays whole.
        let m = F.model([Node(opType: "Split", inputs: ["x"], outputs: ["a", "b"], attributes: [NamedAttribute("axis", .int(1))]),
                         Node(opType: "Relu", inputs: ["a"], outputs: ["y"])],
                        inputs: [("x", [2, 4])], outputs: ["y"])
        let (r, n) = try F.apply(EliminateDeadNodes(), to: m)
        #expect(n == 0 && F.ops(r) == ["Split": 1, "Relu": 1])
    }
}
