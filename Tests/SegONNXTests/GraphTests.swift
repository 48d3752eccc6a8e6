import Testing
import SegGraph
import SegTensor

/// The graph IR on hand-built graphs (SegGraph has no test target of its own).
@Suite struct GraphTests {
    private func relu(_ name: String, _ input: String, _ output: String) -> Node {
        Node(name: name, opType: "Relu", inputs: [input], outputs: [output])
    }

    @Test func topologicalOrderIsStable() throws {
        // Nodes listed out of order: c depends on b depends on a; d is independent.
        let graph = Graph(nodes: [relu("c", "vb", "vc"), relu("d", "x", "vd"), relu("b", "va", "vb"), relu("a", "x", "va")],
                          inputs: [ValueInfo(name: "x")], outputs: [ValueInfo(name: "vc"), ValueInfo(name: "vd")])
        #expect(try graph.sortedNodes().map(\.name) == ["d", "a", "b", "c"])
        try graph.validate()
    }

    @Test func emptyOptionalInputsAreNotDependencies() throws {
        let resize = Node(name: "resize", opType: "Resize", inputs: ["x", "", "", "sizes"], outputs: ["y"])
        let graph = Graph(nodes: [resize], inputs: [ValueInfo(name: "x")], outputs: [ValueInfo(name: "y")],
                          initializers: Initializers([("sizes", try Tensor(dims: [4], scalars: [1, 3, 4, 4] as [Int64]))]))
        try graph.validate()
        #expect(graph.runtimeInputs.map(\.name) == ["x"])
    }

    @Test func duplicateNodeNames() {
        let graph = Graph(nodes: [relu("same", "x", "a"), relu("same", "a", "b")], inputs: [ValueInfo(name: "x")])
        #expect(throws: GraphError.duplicateNodeName("same")) { try graph.validate() }
    }

    @Test func duplicateOutputs() {
        let graph = Graph(nodes: [relu("one", "x", "a"), Node(opType: "Neg", inputs: ["x"], outputs: ["a"])],
                          inputs: [ValueInfo(name: "x")])
        #expect(throws: GraphError.duplicateValue(name: "a", definers: ["node 'one' (Relu)", "node #1 (Neg, unnamed)"])) {
            try graph.validate()
        }
        let shadow = Graph(nodes: [relu("r", "x", "x")], inputs: [ValueInfo(name: "x")])
        #expect(throws: GraphError.duplicateValue(name: "x", definers: ["graph input", "node 'r' (Relu)"])) {
            try shadow.validate()
        }
    }

    @Test func danglingAndUndefinedOutputs() {
        let dangling = Graph(nodes: [relu("r", "ghost", "y")], outputs: [ValueInfo(name: "y")])
        #expect(throws: GraphError.danglingInput(node: "'r' (Relu)", input: "ghost")) { try dangling.validate() }
        let missing = Graph(nodes: [relu("r", "x", "y")], inputs: [ValueInfo(name: "x")], outputs: [ValueInfo(name: "z")])
        #expect(throws: GraphError.undefinedGraphOutput("z")) { try missing.validate() }
    }

    @Test func cycles() {
        let graph = Graph(nodes: [relu("a", "vc", "va"), relu("b", "va", "vb"), relu("c", "vb", "vc"), relu("tail", "vc", "out")])
        #expect(throws: GraphError.cycle(nodes: ["'a' (Relu)", "'b' (Relu)", "'c' (Relu)"])) { try graph.topologicalOrder() }
        let selfLoop = Graph(nodes: [relu("self", "v", "v")])
        #expect(throws: GraphError.cycle(nodes: ["'self' (Relu)"])) { try selfLoop.topologicalOrder() }
    }

    @Test func subgraphsSeeOuterScopeAndAreValidated() throws {
        let body = Graph(name: "body", nodes: [relu("inner", "outer_value", "r")], outputs: [ValueInfo(name: "r")])
        let ifNode = Node(name: "if", opType: "If", inputs: ["cond"], outputs: ["y"],
                          attributes: [NamedAttribute("then_branch", .graph(body)), NamedAttribute("else_branch", .graph(body))])
        // The If reads outer_value through its branches, so it must run after its producer.
        let graph = Graph(nodes: [ifNode, relu("producer", "x", "outer_value")],
                          inputs: [ValueInfo(name: "x"), ValueInfo(name: "cond")], outputs: [ValueInfo(name: "y")])
        #expect(try graph.sortedNodes().map(\.name) == ["producer", "if"])
        try graph.validate()

        let broken = Graph(name: "broken", nodes: [relu("inner", "nobody", "r")], outputs: [ValueInfo(name: "r")])
        var bad = graph
        bad.nodes[0][attribute: "else_branch"] = .graph(broken)
        #expect(throws: GraphError.inSubgraph(node: "'if' (If)", attribute: "else_branch",
                                              .danglingInput(node: "'inner' (Relu)", input: "nobody"))) {
            try bad.validate()
        }
    }

    @Test func producersAndConsumers() throws {
        let add = Node(name: "add", opType: "Add", inputs: ["a", "a"], outputs: ["s"])
        let body = Graph(name: "body", nodes: [relu("inner", "s", "r")], outputs: [ValueInfo(name: "r")])
        let loop = Node(name: "if", opType: "If", inputs: ["cond"], outputs: ["y"],
                        attributes: [NamedAttribute("then_branch", .graph(body)), NamedAttribute("else_branch", .graph(body))])
        let graph = Graph(nodes: [relu("first", "x", "a"), add, loop],
                          inputs: [ValueInfo(name: "x"), ValueInfo(name: "cond")], outputs: [ValueInfo(name: "y")])
        #expect(graph.producers == ["a": 0, "s": 1, "y": 2])
        #expect(graph.consumers == ["x": [0], "a": [1], "s": [2], "cond": [2]])
    }

    @Test func initializersKeepOrder() throws {
        var initializers = Initializers()
        initializers["b"] = Tensor(scalar: Float(1))
        initializers["a"] = Tensor(scalar: Float(2))
        initializers["b"] = Tensor(scalar: Float(3))
        #expect(initializers.names == ["b", "a"])
        #expect(initializers.map(\.name) == ["b", "a"])
        #expect(try initializers["b"]?.scalars(as: Float.self) == [3])
        initializers["b"] = nil
        #expect(initializers.names == ["a"])
        #expect(initializers.byteCount == 4)
    }

    @Test func modelKeepsMetadataInitializer() {
        let model = Model(metadata: ["k": "v"])
        #expect(model.metadata == ["k": "v"])
        #expect(model.graph.nodes.isEmpty)
    }
}
