import SegGraph
import SegReference
import SegRuntime
import SegTensor
import Testing

/// Batches whose items the model keeps apart run as one-image plans side by side; batches it
/// mixes keep the batched plan. Both against the reference executor on the whole batch.
@Suite struct BatchSplitTests {
    /// x [N, 3, 8, 10] → Conv 3→4 3×3 pad 1 → Relu → GlobalAveragePool → Mul by x's pooled
    /// channels broadcast back (a squeeze-excite) → Softmax over channels → [tail].
    func model(tail: [Node] = [], output: String = "y") throws -> Model {
        var g = Graph(name: "split")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.param("N"), .value(3), .value(8), .value(10)]))]
        g.initializers["w"] = try Tensor(dims: [4, 3, 3, 3], scalars: (0..<108).map { Float(($0 * 37) % 17) / 17 - 0.5 })
        g.initializers["b"] = try Tensor(dims: [4], scalars: [0.1, -0.2, 0.05, 0])
        g.nodes = [
            Node(opType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"], attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1]))]),
            Node(opType: "Relu", inputs: ["c"], outputs: ["r"]),
            Node(opType: "GlobalAveragePool", inputs: ["r"], outputs: ["g"]),
            Node(opType: "Mul", inputs: ["r", "g"], outputs: ["m"]),
            Node(opType: "Softmax", inputs: ["m"], outputs: ["y"], attributes: [NamedAttribute("axis", .int(1))]),
        ] + tail
        g.outputs = [ValueInfo(name: output)]
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
    }

    static func input(batch: Int) throws -> Tensor {
        let n = batch * 3 * 8 * 10
        return try Tensor(dims: [batch, 3, 8, 10], scalars: (0..<n).map { Float(($0 * 53) % 29) / 29 - 0.4 })
    }

    func check(_ m: Model, batch: Int, sideBySide: Int?, output: String) throws {
        let x = ["x": try Self.input(batch: batch)]
        let expected = try #require(try ReferenceExecutor(model: m).run(x)[output]).scalars(as: Float.self)
        let compiled = try Compiler(threads: 2).compile(m, inputShapes: x.mapValues(\.dims))
        #expect(compiled.imagesSideBySide == sideBySide)
        let result = try #require(try compiled.run(x)[output])
        #expect(result.dims.first == (sideBySide == nil ? result.dims.first : batch))
        let actual = try result.scalars(as: Float.self)
        #expect(actual.count == expected.count && zip(actual, expected).allSatisfy { abs($0 - $1) <= 1e-5 * Swift.max(1, abs($1)) })
        // Read in place or not, the same numbers.
        let viewed = try compiled.run(x, reading: output) { view -> [Float] in
            switch view {
            case .floats(let p, _): return Array(p)
            case .tensor(let t): return try t.scalars(as: Float.self)
            }
        }
        #expect(viewed == actual)
    }

    @Test func independentItemsRunSideBySide() throws {
        // 3 images on 2 threads: two side by side, then the third; and a batch of 1 unsplit.
        try check(try model(), batch: 3, sideBySide: 2, output: "y")
        try check(try model(), batch: 1, sideBySide: nil, output: "y")
        // One thread, or the switch off: the batched plan.
        let x = ["x": try Self.input(batch: 4)]
        #expect(try Compiler(threads: 1).compile(try model(), inputShapes: x.mapValues(\.dims)).imagesSideBySide == nil)
        var off = RuntimeOptions.standard
        off.batchSplit = false
        #expect(try Compiler(threads: 2, options: off).compile(try model(), inputShapes: x.mapValues(\.dims)).imagesSideBySide == nil)
    }

    /// A mean over the batch axis and a reshape folding the batch into channels mix the items:
    /// the batched plan runs them.
    @Test func mixingNodesKeepTheBatchedPlan() throws {
        let mean = try model(tail: [Node(opType: "ReduceMean", inputs: ["y"], outputs: ["z"], attributes: [NamedAttribute("axes", .ints([0]))])],
                             output: "z")
        try check(mean, batch: 4, sideBySide: nil, output: "z")
        var fold = try model(tail: [Node(opType: "Reshape", inputs: ["y", "s"], outputs: ["z"])], output: "z")
        fold.graph.initializers["s"] = try Tensor(dims: [2], scalars: [1, -1] as [Int64])
        try check(fold, batch: 4, sideBySide: nil, output: "z")
    }
}
