import Fuse
import SegGraph
import SegReference
import SegRewrite
import SegRuntime
import SegTechnique
import SegTensor
import Testing

/// SegRewrite's fusion pass as ONNX Runtime tests its transformers: a tiny graph built here,
/// the ops counted after the rewrite, and the compiled runtime on the rewritten graph checked
/// against the reference executor on the original.
@Suite struct FusionRewriteTests {
    typealias T = TensorOpsPathTests

    /// Op counts, keyed "opType" (default domain) or "domain::opType".
    static func ops(_ m: Model) -> [String: Int] {
        var c: [String: Int] = [:]
        for n in m.graph.nodes { c[n.domain.isEmpty ? n.opType : "\(n.domain)::\(n.opType)", default: 0] += 1 }
        return c
    }

    static func rewrite(_ m: Model) throws -> (Model, Int) {
        let (out, counts) = try RewriteManager([FuseConvActivation()]).run(m)
        return (out, counts.first?.count ?? 0)
    }

    /// Conv 4→4, 3×3, pad 1 on [1, 4, 6, 6] (output shaped like its input), then `tail`.
    static func convModel(_ tail: [Node], outputs: [String] = ["y"], extra: [String: Tensor] = [:]) throws -> Model {
        var inits = ["w": try T.tensor([4, 4, 3, 3], seed: 1), "b": try T.tensor([4], seed: 2)]
        inits.merge(extra) { a, _ in a }
        return T.model([Node(name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"],
                             attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1]))])] + tail,
                       inputs: [("x", [1, 4, 6, 6])], outputs: outputs, initializers: inits)
    }

    static let input = ["x": try! T.tensor([1, 4, 6, 6], seed: 3)]

    /// Reference on `original` against the compiled runtime on `rewritten`, exactly the kinds given.
    func expectEquivalent(_ original: Model, _ rewritten: Model, kinds: [String]) throws {
        let expected = try ReferenceExecutor(model: original).run(Self.input)
        let compiled = try Compiler().compile(rewritten, inputShapes: Self.input.mapValues(\.dims))
        #expect(compiled.kernelCounts.keys.sorted() == kinds.sorted(), "\(compiled.kernelCounts)")
        let actual = try compiled.run(Self.input)
        for (name, e) in expected {
            let a = try #require(actual[name])
            #expect(a.dims == e.dims)
            let x = try a.scalars(as: Float.self), y = try e.scalars(as: Float.self)
            let bad = zip(x, y).filter { !(abs($0 - $1) <= 1e-5 + 1e-4 * abs($1)) }.count
            #expect(bad == 0, "\(name): \(bad) of \(x.count) differ")
        }
    }

    @Test func convReluBecomesOneFusedConv() throws {
        let m = try Self.convModel([Node(opType: "Relu", inputs: ["c"], outputs: ["y"])])
        let (r, n) = try Self.rewrite(m)
        #expect(n == 1)
        #expect(Self.ops(r) == ["ai.segslim::FusedConv": 1])
        let fused = try #require(r.graph.nodes.first)
        #expect(fused.inputs == ["x", "w", "b"] && fused.outputs == ["y"])
        #expect(fused[attribute: "activation"]?.stringValue == "Relu")
        #expect(fused[attribute: "pads"]?.intsValue == [1, 1, 1, 1])
        #expect(r.opsetVersion(for: FusedOps.domain) == 1)
        try expectEquivalent(m, r, kinds: ["Conv+act"])
        // The runtime's own compile of the original rewrites the same way.
        #expect(try Compiler().compile(m, inputShapes: Self.input.mapValues(\.dims)).kernelCounts == ["Conv+act": 1])
    }

    @Test func convAddReluTakesTheResidualAsFourthInput() throws {
        let m = try Self.convModel([Node(opType: "Add", inputs: ["c", "x"], outputs: ["s"]),
                                    Node(opType: "Relu", inputs: ["s"], outputs: ["y"])])
        let (r, n) = try Self.rewrite(m)
        #expect(n == 1)
        #expect(Self.ops(r) == ["ai.segslim::FusedConv": 1])
        #expect(r.graph.nodes.first?.inputs == ["x", "w", "b", "x"])
        try expectEquivalent(m, r, kinds: ["Conv+Add+act"])
    }

    @Test func convAddWithoutBiasKeepsAnEmptyBiasSlot() throws {
        let m = T.model([Node(opType: "Conv", inputs: ["x", "w"], outputs: ["c"], attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1]))]),
                         Node(opType: "Add", inputs: ["x", "c"], outputs: ["y"])],
                        inputs: [("x", [1, 4, 6, 6])], outputs: ["y"], initializers: ["w": try T.tensor([4, 4, 3, 3], seed: 1)])
        let (r, _) = try Self.rewrite(m)
        #expect(r.graph.nodes.first?.inputs == ["x", "w", "", "x"])
        try expectEquivalent(m, r, kinds: ["Conv+Add"])
    }

    /// Fuse's report and the runtime's rewrite read one list, so they agree either way.
    @Test(arguments: [("LeakyRelu", false), ("HardSigmoid", true), ("Sigmoid", true), ("HardSwish", true)])
    func fuseReportAndRuntimeAgree(activation: String, fusable: Bool) throws {
        let m = try Self.convModel([Node(opType: activation, inputs: ["c"], outputs: ["y"])])
        let reported = ActivationFusion.candidates(in: m.graph).map(\.activation)
        let (r, n) = try Self.rewrite(m)
        #expect(reported == (fusable ? [activation] : []))
        #expect(n == (fusable ? 1 : 0))
        #expect(Self.ops(r) == (fusable ? ["ai.segslim::FusedConv": 1] : ["Conv": 1, activation: 1]))
        try expectEquivalent(m, r, kinds: fusable ? ["Conv+act"] : ["Conv", activation])
    }

    @Test func clipBoundsBecomeAttributes() throws {
        let m = try Self.convModel([Node(opType: "Clip", inputs: ["c", "lo", "hi"], outputs: ["y"])],
                                   extra: ["lo": try Tensor(dims: [], scalars: [Float(0)]), "hi": try Tensor(dims: [], scalars: [Float(6)])])
        let (r, n) = try Self.rewrite(m)
        #expect(n == 1)
        #expect(r.graph.nodes.first?[attribute: "min"]?.floatValue == 0 && r.graph.nodes.first?[attribute: "max"]?.floatValue == 6)
        try expectEquivalent(m, r, kinds: ["Conv+act"])
    }

    // MARK: - Conditions that fail

    @Test func intermediateWithTwoReadersIsNotFused() throws {
        let m = try Self.convModel([Node(opType: "Relu", inputs: ["c"], outputs: ["y"]),
                                    Node(opType: "Sigmoid", inputs: ["c"], outputs: ["z"])], outputs: ["y", "z"])
        let (r, n) = try Self.rewrite(m)
        #expect(n == 0)
        #expect(Self.ops(r) == ["Conv": 1, "Relu": 1, "Sigmoid": 1])
        #expect(ActivationFusion.candidates(in: m.graph).isEmpty)
        try expectEquivalent(m, r, kinds: ["Conv", "Relu", "Sigmoid"])
    }

    @Test func intermediateThatIsAGraphOutputIsNotFused() throws {
        let m = try Self.convModel([Node(opType: "Relu", inputs: ["c"], outputs: ["y"])], outputs: ["y", "c"])
        let (r, n) = try Self.rewrite(m)
        #expect(n == 0)
        #expect(Self.ops(r) == ["Conv": 1, "Relu": 1])
        try expectEquivalent(m, r, kinds: ["Conv", "Relu"])
    }

    @Test func addWithTheSumAsAGraphOutputKeepsTheActivationApart() throws {
        let m = try Self.convModel([Node(opType: "Add", inputs: ["c", "x"], outputs: ["s"]),
                                    Node(opType: "Relu", inputs: ["s"], outputs: ["y"])], outputs: ["y", "s"])
        let (r, n) = try Self.rewrite(m)
        #expect(n == 1)
        #expect(Self.ops(r) == ["ai.segslim::FusedConv": 1, "Relu": 1])
        try expectEquivalent(m, r, kinds: ["Conv+Add", "Relu"])
    }

    @Test func residualComputedAfterTheConvIsNotFused() throws {
        // Add(c, later) where `later` is produced after the Conv: the fused step could not read it.
        let m = try Self.convModel([Node(opType: "Sigmoid", inputs: ["x"], outputs: ["later"]),
                                    Node(opType: "Add", inputs: ["c", "later"], outputs: ["y"])])
        let (r, n) = try Self.rewrite(m)
        #expect(n == 0)
        #expect(Self.ops(r) == ["Conv": 1, "Sigmoid": 1, "Add": 1])
    }

    @Test func clipWithARuntimeBoundIsNotFused() throws {
        let m = T.model([Node(opType: "Conv", inputs: ["x", "w"], outputs: ["c"], attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1]))]),
                         Node(opType: "ReduceMin", inputs: ["x"], outputs: ["lo"], attributes: [NamedAttribute("keepdims", .int(0))]),
                         Node(opType: "Clip", inputs: ["c", "lo"], outputs: ["y"])],
                        inputs: [("x", [1, 4, 6, 6])], outputs: ["y"], initializers: ["w": try T.tensor([4, 4, 3, 3], seed: 1)])
        let (r, n) = try Self.rewrite(m)
        #expect(n == 0)
        #expect(Self.ops(r)["Clip"] == 1)
    }

    @Test func factsLimitTheRewriteToWhatTheTargetRuns() throws {
        let m = try Self.convModel([Node(opType: "Relu", inputs: ["c"], outputs: ["y"])])
        let dims = ["x": [1, 4, 6, 6], "c": [1, 4, 6, 6], "y": [1, 4, 6, 6]]
        func fused(_ facts: FusionFacts) throws -> Int {
            var copy = m
            return try FuseConvActivation(facts: facts).apply(to: &copy)
        }
        #expect(try fused(FusionFacts(planned: dims, convs: [])) == 0, "a conv the kernels do not take")
        #expect(try fused(FusionFacts(planned: dims, convs: ["c"], claimed: ["y"])) == 0, "an activation the INT8 plan runs")
        #expect(try fused(FusionFacts(planned: dims.filter { $0.key != "y" }, convs: ["c"])) == 0, "an output outside the arena")
        #expect(try fused(FusionFacts(planned: dims, convs: ["c"])) == 1)
    }

    /// Without fast kernels a fused node runs its reference definition (the ops it fused).
    @Test(arguments: ["Relu", "Clip", "HardSigmoid"])
    func fusedNodesHaveAReferenceFallback(activation: String) throws {
        let tail = [Node(opType: "Add", inputs: ["c", "x"], outputs: ["s"]),
                    Node(opType: activation, inputs: activation == "Clip" ? ["s", "lo", "hi"] : ["s"], outputs: ["y"])]
        let m = try Self.convModel(tail, extra: ["lo": try Tensor(dims: [], scalars: [Float(-0.5)]), "hi": try Tensor(dims: [], scalars: [Float(1)])])
        let (r, n) = try Self.rewrite(m)
        #expect(n == 1)
        let expected = try ReferenceExecutor(model: m).run(Self.input)
        let compiled = try Compiler(fastKernels: false).compile(r, inputShapes: Self.input.mapValues(\.dims))
        #expect(compiled.kernelCounts == ["FusedConv (reference)": 1])
        let y = try compiled.run(Self.input)["y"]
        #expect(try y?.scalars(as: Float.self) == expected["y"]?.scalars(as: Float.self))
    }

    // MARK: - Attention

    /// softmax(Q·K ÷ d) · V with two heads; shapes come as facts (the axis and batch checks need them).
    static func attentionModel(divisor: Float = 2.5, scoresAreOutput: Bool = false) -> Model {
        T.model([Node(name: "qk", opType: "MatMul", inputs: ["q", "k"], outputs: ["scores"]),
                 Node(opType: "Div", inputs: ["scores", "d"], outputs: ["scaled"]),
                 Node(opType: "Softmax", inputs: ["scaled"], outputs: ["p"], attributes: [NamedAttribute("axis", .int(-1))]),
                 Node(opType: "MatMul", inputs: ["p", "v"], outputs: ["y"])],
                inputs: [("q", [1, 2, 7, 8]), ("k", [1, 2, 8, 5]), ("v", [1, 2, 5, 3])], outputs: scoresAreOutput ? ["y", "p"] : ["y"],
                initializers: ["d": Tensor(scalar: divisor)])
    }

    static let attentionDims = ["q": [1, 2, 7, 8], "k": [1, 2, 8, 5], "v": [1, 2, 5, 3], "scores": [1, 2, 7, 5], "scaled": [1, 2, 7, 5],
                                "p": [1, 2, 7, 5], "y": [1, 2, 7, 3]]

    @Test func attentionBecomesOneFusedNode() throws {
        let m = Self.attentionModel()
        var r = m
        #expect(try FuseAttention(facts: FusionFacts(planned: Self.attentionDims, convs: [])).apply(to: &r) == 1)
        #expect(Self.ops(r) == ["ai.segslim::Attention": 1])
        #expect(r.graph.nodes.first?.inputs == ["q", "k", "v"])
        #expect(r.graph.nodes.first?[attribute: "scale"]?.floatValue == 1 / Float(2.5))
        var structural = m
        #expect(try FuseAttention().apply(to: &structural) == 0, "no shapes, no fusion")

        let inputs = ["q": try T.tensor([1, 2, 7, 8], seed: 4), "k": try T.tensor([1, 2, 8, 5], seed: 5), "v": try T.tensor([1, 2, 5, 3], seed: 6)]
        let expected = try ReferenceExecutor(model: m).run(inputs)["y"]
        for fast in [true, false] {
            let compiled = try Compiler(fastKernels: fast).compile(r, inputShapes: inputs.mapValues(\.dims))
            #expect(compiled.kernelCounts == [fast ? "Attention" : "Attention (reference)": 1])
            let y = try #require(try compiled.run(inputs)["y"])
            let bad = zip(try y.scalars(as: Float.self), try #require(expected).scalars(as: Float.self)).filter { abs($0 - $1) > 1e-5 + 1e-4 * abs($1) }
            #expect(bad.isEmpty)
        }
    }

    @Test func attentionConditionsThatFail() throws {
        let facts = FusionFacts(planned: Self.attentionDims, convs: [])
        var zero = Self.attentionModel(divisor: 0)
        #expect(try FuseAttention(facts: facts).apply(to: &zero) == 0, "÷ 0 is not a scale")
        var shared = Self.attentionModel(scoresAreOutput: true)
        #expect(try FuseAttention(facts: facts).apply(to: &shared) == 0, "probabilities read as a graph output")
        #expect(Self.ops(shared) == ["MatMul": 2, "Div": 1, "Softmax": 1])
        var claimed = Self.attentionModel()
        #expect(try FuseAttention(facts: FusionFacts(planned: Self.attentionDims, convs: [], claimed: ["p"])).apply(to: &claimed) == 0)
    }

    // MARK: - GELU

    static func geluModel(one: Float = 1, xInMul: String = "x", extraReader: Bool = false) -> Model {
        T.model([Node(opType: "Div", inputs: ["x", "sqrt2"], outputs: ["t"]),
                 Node(opType: "Erf", inputs: ["t"], outputs: ["e"]),
                 Node(opType: "Add", inputs: ["e", "one"], outputs: ["e1"]),
                 Node(opType: "Mul", inputs: [xInMul, "e1"], outputs: ["xe"]),
                 Node(opType: "Mul", inputs: ["half", "xe"], outputs: ["y"])]
                + (extraReader ? [Node(opType: "Relu", inputs: ["e"], outputs: ["r"])] : []),
                inputs: [("x", [2, 9, 6]), ("z", [2, 9, 6])], outputs: extraReader ? ["y", "r"] : ["y"],
                initializers: ["sqrt2": Tensor(scalar: Float(1.4142135)), "one": Tensor(scalar: one), "half": Tensor(scalar: Float(0.5))])
    }

    @Test func geluChainBecomesOneFusedNode() throws {
        let m = Self.geluModel()
        var r = m
        #expect(try FuseGelu().apply(to: &r) == 1)
        #expect(Self.ops(r) == ["ai.segslim::Gelu": 1])
        #expect(r.graph.nodes.first?.inputs == ["x"] && r.graph.nodes.first?.outputs == ["y"])
        #expect(r.graph.nodes.first?[attribute: "scale"]?.floatValue == 1 / Float(1.4142135))
        let inputs = ["x": try T.tensor([2, 9, 6], seed: 8), "z": try T.tensor([2, 9, 6], seed: 9)]
        let expected = try #require(try ReferenceExecutor(model: m).run(inputs)["y"]).scalars(as: Float.self)
        // The fused node runs on the step the exported chain ran on; the original compiles to it too.
        let fused = try Compiler().compile(r, inputShapes: inputs.mapValues(\.dims))
        let direct = try Compiler().compile(m, inputShapes: inputs.mapValues(\.dims))
        #expect(fused.kernelCounts == ["Div+Erf+Add+Mul+Mul": 1] && direct.kernelCounts == fused.kernelCounts)
        let y = try #require(try fused.run(inputs)["y"]).scalars(as: Float.self)
        #expect(y == (try #require(try direct.run(inputs)["y"]).scalars(as: Float.self)))
        #expect(zip(y, expected).allSatisfy { abs($0 - $1) <= 1e-5 + 1e-4 * abs($1) })
        let reference = try Compiler(fastKernels: false).compile(r, inputShapes: inputs.mapValues(\.dims))
        #expect(reference.kernelCounts == ["Gelu (reference)": 1])
        let yr = try #require(try reference.run(inputs)["y"]).scalars(as: Float.self)
        #expect(zip(yr, expected).allSatisfy { abs($0 - $1) <= 1e-5 + 1e-4 * abs($1) })
    }

    @Test func geluConditionsThatFail() throws {
        var other = Self.geluModel(one: 2)
        #expect(try FuseGelu().apply(to: &other) == 0, "not + 1: not GELU")
        var z = Self.geluModel(xInMul: "z")
        #expect(try FuseGelu().apply(to: &z) == 0, "multiplies another value than x")
        var shared = Self.geluModel(extraReader: true)
        #expect(try FuseGelu().apply(to: &shared) == 0, "erf also read elsewhere")
        #expect(Self.ops(shared) == ["Div": 1, "Erf": 1, "Add": 1, "Mul": 2, "Relu": 1])
    }

    // MARK: - The Fuse technique

    @Test func fuseWritesStandardONNXAndReportsFromTheSharedList() async throws {
        let m = try Self.convModel([Node(opType: "Relu", inputs: ["c"], outputs: ["r"]),
                                    Node(opType: "Identity", inputs: ["r"], outputs: ["y"])])
        let result = try await FuseTechnique(parameters: [:]).apply(to: m, in: TechniqueContext())
        #expect(Self.ops(result.model) == ["Conv": 1, "Relu": 1])
        #expect(!result.model.graph.nodes.contains { $0.domain == FusedOps.domain })
        #expect(!result.model.opsetImports.contains { $0.domain == FusedOps.domain })
        #expect(result.details["fusableConvActivations"]?["Relu"]?.intValue == 1)
        #expect(result.details["rewrites"]?["eliminateIdentity"]?.intValue == 1)

        let leaky = try Self.convModel([Node(opType: "LeakyRelu", inputs: ["c"], outputs: ["y"])])
        let none = try await FuseTechnique(parameters: [:]).apply(to: leaky, in: TechniqueContext())
        #expect(none.details["fusableConvActivations"]?.objectValue?.isEmpty == true)
    }
}
