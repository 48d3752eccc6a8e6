import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// MatMul and Gemm backward against finite differences: the folded linear-layer path and the
/// per-batch path with broadcast batch axes, 1-D operands, every transA/transB pair with alpha
/// and beta, and each shape C may broadcast from.
@Suite struct MatMulGradientTests {
    @Test(arguments: [
        ([2, 3, 4], [4, 5]),          // batch folds into rows
        ([3, 4], [4, 2]),             // plain matrices (folds, one batch)
        ([2, 1, 3, 4], [3, 4, 2]),    // batch axes broadcast both ways
        ([3, 4], [2, 4, 5]),          // A shared by every batch
        ([2, 3, 4], [2, 4, 3]),       // batched, same batch
        ([4], [2, 4, 3]),             // 1-D A
        ([2, 3, 4], [4]),             // 1-D B
        ([4], [4]),                   // dot product
    ])
    func matMul(_ a: [Int], _ b: [Int]) throws {
        let node = Node(opType: "MatMul", inputs: ["a", "b"], outputs: ["y"])
        try GradientCheck.check([node], trainable: ["a": GradientCheck.values(a.reduce(1, *), seed: 71), "b": GradientCheck.values(b.reduce(1, *), seed: 72)],
                                dims: ["a": a, "b": b])
    }

    /// The product itself against a triple loop.
    @Test func matMulBroadcastValues() throws {
        let a = GradientCheck.values(2 * 3 * 4, seed: 73), b = GradientCheck.values(4 * 2, seed: 74)
        let node = Node(opType: "MatMul", inputs: ["a", "b"], outputs: ["y"])
        let model = GradientCheck.model([node], initializers: ["a": try Tensor(dims: [2, 3, 4], scalars: a), "b": try Tensor(dims: [1, 4, 2], scalars: b)], output: "y")
        let program = try TrainingProgram(model: model, inputShapes: [:], trainable: ["a", "b"])
        let y = try #require(program.forward(inputs: [:], parameters: ["a": FloatTensor(dims: [2, 3, 4], scalars: a),
                                                                       "b": FloatTensor(dims: [1, 4, 2], scalars: b)]).outputs["y"])
        #expect(y.dims == [2, 3, 2])
        for n in 0..<2 { for i in 0..<3 { for j in 0..<2 {
            let expected = (0..<4).reduce(Float(0)) { $0 + a[(n * 3 + i) * 4 + $1] * b[$1 * 2 + j] }
            #expect(abs(y.scalars[(n * 3 + i) * 2 + j] - expected) < 1e-5)
        } } }
    }

    struct GemmCase: CustomStringConvertible, Sendable {
        var transA: Int, transB: Int
        var alpha: Float, beta: Float
        var c: [Int]?
        var description: String { "transA \(transA) transB \(transB) alpha \(alpha) beta \(beta) C \(c.map(\.description) ?? "none")" }
    }

    @Test(arguments: [
        GemmCase(transA: 0, transB: 0, alpha: 1, beta: 1, c: [3, 5]),
        GemmCase(transA: 1, transB: 0, alpha: 0.5, beta: 2, c: [5]),
        GemmCase(transA: 0, transB: 1, alpha: 2, beta: 0.5, c: [3, 1]),
        GemmCase(transA: 1, transB: 1, alpha: -1, beta: 1, c: [1, 5]),
        GemmCase(transA: 1, transB: 1, alpha: 1, beta: 3, c: []),
        GemmCase(transA: 0, transB: 1, alpha: 1.5, beta: 1, c: nil),
    ])
    func gemm(_ g: GemmCase) throws {
        let (m, k, n) = (3, 4, 5)
        let a = g.transA == 1 ? [k, m] : [m, k], b = g.transB == 1 ? [n, k] : [k, n]
        var inputs = ["a", "b"]
        var trainable = ["a": GradientCheck.values(m * k, seed: 75), "b": GradientCheck.values(k * n, seed: 76)]
        var dims = ["a": a, "b": b]
        if let c = g.c { inputs.append("c"); trainable["c"] = GradientCheck.values(c.reduce(1, *), seed: 77); dims["c"] = c }
        let node = Node(opType: "Gemm", inputs: inputs, outputs: ["y"], attributes: [
            NamedAttribute("transA", .int(g.transA)), NamedAttribute("transB", .int(g.transB)),
            NamedAttribute("alpha", .float(g.alpha)), NamedAttribute("beta", .float(g.beta))])
        try GradientCheck.check([node], trainable: trainable, dims: dims)
    }

    /// Y = alpha·Aᵀ·B + beta·C by hand for one small case.
    @Test func gemmValues() throws {
        let node = Node(opType: "Gemm", inputs: ["a", "b", "c"], outputs: ["y"], attributes: [
            NamedAttribute("transA", .int(1)), NamedAttribute("alpha", .float(2)), NamedAttribute("beta", .float(10))])
        // A stored [K=2, M=2] = [[1, 2], [3, 4]] so A' = [[1, 3], [2, 4]]; B = [[1, 0], [0, 1]].
        let model = GradientCheck.model([node], initializers: [
            "a": try Tensor(dims: [2, 2], scalars: [1, 2, 3, 4] as [Float]), "b": try Tensor(dims: [2, 2], scalars: [1, 0, 0, 1] as [Float]),
            "c": try Tensor(dims: [2], scalars: [1, -1] as [Float])], output: "y")
        let program = try TrainingProgram(model: model, inputShapes: [:], trainable: ["a"])
        let y = try #require(program.forward(inputs: [:], parameters: ["a": FloatTensor(dims: [2, 2], scalars: [1, 2, 3, 4])]).outputs["y"])
        let expected: [Float] = [12, -4, 14, -2]
        #expect(y.scalars == expected)
    }

    @Test func gemmRefusesCThatDoesNotBroadcast() throws {
        let node = Node(opType: "Gemm", inputs: ["x", "b", "c"], outputs: ["y"])
        let model = GradientCheck.model([node], initializers: [
            "x": try Tensor(dims: [2, 3], scalars: [Float](repeating: 1, count: 6)), "b": try Tensor(dims: [3, 4], scalars: [Float](repeating: 1, count: 12)),
            "c": try Tensor(dims: [3], scalars: [Float](repeating: 1, count: 3))], output: "y")
        expectRefusal(model, mentioning: "C")
    }
}
