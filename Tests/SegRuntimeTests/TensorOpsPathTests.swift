import SegGraph
import SegReference
import SegRuntime
import SegTensor
import Testing

/// Transformer-style graphs through the compiled runtime: each must run on the fast
/// kernels (no reference fallback where the path applies, fused patterns counted by kind)
/// and agree with the reference executor within rtol 1e-4.
@Suite struct TensorOpsPathTests {
    static func model(_ nodes: [Node], inputs: [(String, [Int])], outputs: [String], initializers: [String: Tensor] = [:], opset: Int = 17) -> Model {
        var g = Graph(name: "t")
        g.inputs = inputs.map { ValueInfo(name: $0.0, type: TensorType(elementType: .f32, shape: $0.1.map { .value($0) })) }
        for (k, v) in initializers.sorted(by: { $0.key < $1.key }) { g.initializers[k] = v }
        g.nodes = nodes
        g.outputs = outputs.map { ValueInfo(name: $0) }
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: opset)])
    }

    /// Deterministic values in about [−2, 2].
    static func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { i in Float((i * 7919 + seed * 104_729) % 1999) / 500 - 2 }
    }

    static func tensor(_ dims: [Int], seed: Int) throws -> Tensor {
        try Tensor(dims: dims, scalars: values(dims.reduce(1, *), seed: seed))
    }

    @discardableResult
    func check(_ m: Model, _ inputs: [String: Tensor], kinds: [String], allFast: Bool = true) throws -> [String: Int] {
        let expected = try ReferenceExecutor(model: m).run(inputs)
        let compiled = try Compiler().compile(m, inputShapes: inputs.mapValues(\.dims))
        for k in kinds { #expect(compiled.kernelCounts[k] != nil, "\(k) missing from \(compiled.kernelCounts)") }
        if allFast { #expect(!compiled.kernelCounts.keys.contains { $0.contains("reference") }, "\(compiled.kernelCounts)") }
        let actual = try compiled.run(inputs)
        for (name, e) in expected {
            let a = try #require(actual[name])
            #expect(a.dims == e.dims)
            let x = try a.scalars(as: Float.self), y = try e.scalars(as: Float.self)
            let bad = zip(x, y).filter { !(abs($0 - $1) <= 1e-5 + 1e-4 * abs($1)) }.count
            #expect(bad == 0, "\(name): \(bad) of \(x.count) differ")
        }
        return compiled.kernelCounts
    }

    @Test func linearWithBiasAndResidualIsOneStep() throws {
        let m = Self.model([
            Node(opType: "MatMul", inputs: ["x", "w"], outputs: ["mm"]),
            Node(opType: "Add", inputs: ["bias", "mm"], outputs: ["biased"]),
            Node(opType: "Add", inputs: ["biased", "x"], outputs: ["y"]),
        ], inputs: [("x", [1, 13, 12])], outputs: ["y"],
           initializers: ["w": try Self.tensor([12, 12], seed: 1), "bias": try Self.tensor([12], seed: 2)])
        let counts = try check(m, ["x": try Self.tensor([1, 13, 12], seed: 3)], kinds: ["MatMul+bias+Add"])
        #expect(counts.count == 1, "\(counts)")
    }

    @Test func linearFollowedByTransposeWritesTheTransposedLayout() throws {
        let m = Self.model([
            Node(opType: "MatMul", inputs: ["x", "w"], outputs: ["mm"]),
            Node(opType: "Add", inputs: ["mm", "bias"], outputs: ["biased"]),
            Node(opType: "Relu", inputs: ["biased"], outputs: ["r"]),
            Node(opType: "Transpose", inputs: ["r"], outputs: ["y"], attributes: [NamedAttribute("perm", .ints([0, 2, 1]))]),
        ], inputs: [("x", [2, 23, 10])], outputs: ["y"],
           initializers: ["w": try Self.tensor([10, 17], seed: 22), "bias": try Self.tensor([17], seed: 23)])
        let counts = try check(m, ["x": try Self.tensor([2, 23, 10], seed: 24)], kinds: ["MatMul+bias+act+Transpose"])
        #expect(counts.count == 1, "\(counts)")
    }

    /// softmax(Q·Kᵀ · s) · V with two heads, K transposed by a Transpose node; with the
    /// scores also a graph output the three nodes run on their own kernels instead.
    @Test(arguments: [false, true])
    func attentionRunsOnFastKernels(_ scoresAreOutput: Bool) throws {
        let m = Self.model([
            Node(opType: "Transpose", inputs: ["k"], outputs: ["kt"], attributes: [NamedAttribute("perm", .ints([0, 1, 3, 2]))]),
            Node(opType: "MatMul", inputs: ["q", "kt"], outputs: ["scores"]),
            Node(opType: "Mul", inputs: ["scores", "scale"], outputs: ["scaled"]),
            Node(opType: "Softmax", inputs: ["scaled"], outputs: ["p"], attributes: [NamedAttribute("axis", .int(-1))]),
            Node(opType: "MatMul", inputs: ["p", "v"], outputs: ["ctx"]),
            Node(opType: "Transpose", inputs: ["ctx"], outputs: ["y"], attributes: [NamedAttribute("perm", .ints([0, 2, 1, 3]))]),
        ], inputs: [("q", [1, 2, 19, 8]), ("k", [1, 1, 11, 8]), ("v", [1, 2, 11, 8])], outputs: scoresAreOutput ? ["y", "p"] : ["y"],
           initializers: ["scale": Tensor(scalar: Float(0.35))])
        try check(m, ["q": try Self.tensor([1, 2, 19, 8], seed: 4), "k": try Self.tensor([1, 1, 11, 8], seed: 5),
                      "v": try Self.tensor([1, 2, 11, 8], seed: 6)],
                  kinds: scoresAreOutput ? ["MatMul+scale", "Softmax", "MatMul", "Transpose"] : ["Attention", "Transpose"])
    }

    /// V computed after the scores: the fused step would read it too early, so the three
    /// nodes keep their own steps.
    @Test func attentionWaitsForALateV() throws {
        let m = Self.model([
            Node(opType: "MatMul", inputs: ["q", "kt"], outputs: ["scores"]),
            Node(opType: "Softmax", inputs: ["scores"], outputs: ["p"]),
            Node(opType: "Relu", inputs: ["x"], outputs: ["v"]),
            Node(opType: "MatMul", inputs: ["p", "v"], outputs: ["y"]),
        ], inputs: [("q", [9, 4]), ("kt", [4, 6]), ("x", [6, 5])], outputs: ["y"])
        let counts = try check(m, ["q": try Self.tensor([9, 4], seed: 25), "kt": try Self.tensor([4, 6], seed: 26),
                                   "x": try Self.tensor([6, 5], seed: 27)], kinds: ["MatMul", "Softmax"])
        #expect(counts["Attention"] == nil, "\(counts)")
    }

    @Test func exportedGeluChainFusesIntoTheErf() throws {
        let m = Self.model([
            Node(opType: "Div", inputs: ["x", "sqrt2"], outputs: ["t"]),
            Node(opType: "Erf", inputs: ["t"], outputs: ["e"]),
            Node(opType: "Add", inputs: ["e", "one"], outputs: ["e1"]),
            Node(opType: "Mul", inputs: ["x", "e1"], outputs: ["xe"]),
            Node(opType: "Mul", inputs: ["xe", "half"], outputs: ["y"]),
        ], inputs: [("x", [1, 37, 5])], outputs: ["y"],
           initializers: ["sqrt2": Tensor(scalar: Float(1.4142135)), "one": Tensor(scalar: Float(1)), "half": Tensor(scalar: Float(0.5))])
        // The scalar Div reaches the tensor-ops path too (FastPath sends Sub/Div there first),
        // so the whole exported GELU is one step.
        let counts = try check(m, ["x": try Self.tensor([1, 37, 5], seed: 7)], kinds: ["Div+Erf+Add+Mul+Mul"])
        #expect(counts["Add"] == nil && counts["Mul"] == nil && counts["Div"] == nil, "\(counts)")
    }

    /// The Div by √2 in front of the Erf folds in as well when it reaches this path (here a
    /// broadcast [C] constant whose values are all √2).
    @Test func geluDivisorFoldsIntoTheErfStep() throws {
        let m = Self.model([
            Node(opType: "Div", inputs: ["x", "sqrt2"], outputs: ["t"]),
            Node(opType: "Erf", inputs: ["t"], outputs: ["e"]),
            Node(opType: "Add", inputs: ["e", "one"], outputs: ["e1"]),
            Node(opType: "Mul", inputs: ["x", "e1"], outputs: ["xe"]),
            Node(opType: "Mul", inputs: ["xe", "half"], outputs: ["y"]),
        ], inputs: [("x", [1, 37, 4])], outputs: ["y"],
           initializers: ["sqrt2": try Tensor(dims: [4], scalars: [Float](repeating: 1.4142135, count: 4)),
                          "one": Tensor(scalar: Float(1)), "half": Tensor(scalar: Float(0.5))])
        let counts = try check(m, ["x": try Self.tensor([1, 37, 4], seed: 28)], kinds: ["Div+Erf+Add+Mul+Mul"])
        #expect(counts.count == 1, "\(counts)")
    }

    @Test(arguments: ["none", "tanh"])
    func geluOperator(_ approximate: String) throws {
        let m = Self.model([Node(opType: "Gelu", inputs: ["x"], outputs: ["y"], attributes: [NamedAttribute("approximate", .string(approximate))])],
                           inputs: [("x", [2, 21])], outputs: ["y"], opset: 20)
        try check(m, ["x": try Self.tensor([2, 21], seed: 8)], kinds: ["Gelu"])
    }

    @Test func layerNormalizationAndBroadcastBias() throws {
        let m = Self.model([
            Node(opType: "LayerNormalization", inputs: ["x", "g", "b"], outputs: ["n"], attributes: [NamedAttribute("epsilon", .float(1e-6))]),
            Node(opType: "Add", inputs: ["n", "c"], outputs: ["y"]),
            Node(opType: "Sqrt", inputs: ["x2"], outputs: ["r"]),
            Node(opType: "Pow", inputs: ["r", "two"], outputs: ["p"]),
            Node(opType: "Sub", inputs: ["row", "p"], outputs: ["z"]),
        ], inputs: [("x", [1, 9, 20]), ("x2", [3, 1, 6])], outputs: ["y", "z"],
           initializers: ["g": try Self.tensor([20], seed: 9), "b": try Self.tensor([20], seed: 10), "c": try Self.tensor([20], seed: 11),
                          "two": Tensor(scalar: Float(2)), "row": try Self.tensor([5, 1], seed: 12)])
        let x2 = try Tensor(dims: [3, 1, 6], scalars: Self.values(18, seed: 13).map { $0 + 2.5 })
        try check(m, ["x": try Self.tensor([1, 9, 20], seed: 14), "x2": x2], kinds: ["LayerNormalization", "Add", "Sqrt", "Pow", "Sub"])
    }

    @Test func layerNormalizationWithStatisticsReadFallsBack() throws {
        let m = Self.model([
            Node(opType: "LayerNormalization", inputs: ["x", "g"], outputs: ["y", "mean"]),
        ], inputs: [("x", [4, 6])], outputs: ["y", "mean"], initializers: ["g": try Self.tensor([6], seed: 15)])
        let counts = try check(m, ["x": try Self.tensor([4, 6], seed: 16)], kinds: [], allFast: false)
        #expect(counts["LayerNormalization (reference)"] == 1, "\(counts)")
    }

    @Test(arguments: [(false, false), (true, true), (false, true)])
    func gemmWithTransposesAndC(_ transA: Bool, _ transB: Bool) throws {
        let (mm, k, n) = (7, 10, 9)
        let m = Self.model([
            Node(opType: "Gemm", inputs: ["a", "w", "c"], outputs: ["y"], attributes: [
                NamedAttribute("transA", .int(transA ? 1 : 0)), NamedAttribute("transB", .int(transB ? 1 : 0)),
                NamedAttribute("alpha", .float(0.75)), NamedAttribute("beta", .float(1.5)),
            ]),
            Node(opType: "Gemm", inputs: ["y", "w2", "c2"], outputs: ["z"]),
        ], inputs: [("a", transA ? [k, mm] : [mm, k])], outputs: ["z"],
           initializers: ["w": try Self.tensor(transB ? [n, k] : [k, n], seed: 17), "c": try Self.tensor([n], seed: 18),
                          "w2": try Self.tensor([n, 4], seed: 19), "c2": try Self.tensor([mm, 1], seed: 20)])
        try check(m, ["a": try Self.tensor(transA ? [k, mm] : [mm, k], seed: 21)], kinds: ["Gemm"])
    }
}
