import SegGraph
import SegReference
import SegRuntime
import SegTensor
import Testing

/// Where with a constant condition and constant-mode Pad on the runtime, against the reference
/// executor, in the forms transformer exports use: masks broadcast over windows and heads,
/// values computed or constant, Swin's bottom/right window padding, the opset 18 `axes` input.
/// The operands come out of a Relu so they are computed values inside a chain of fast steps.
@Suite struct WherePadPathTests {
    func model(_ nodes: [Node], input dims: [Int], initializers: [String: Tensor], opset: Int = 18) -> Model {
        var g = Graph(name: "wp")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: dims.map { .value($0) }))]
        for (k, v) in initializers { g.initializers[k] = v }
        g.nodes = [Node(opType: "Relu", inputs: ["x"], outputs: ["r"])] + nodes
        g.outputs = [ValueInfo(name: "y")]
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: opset)])
    }

    func check(_ m: Model, dims: [Int], kind: String) throws {
        let x = ["x": try DataMovementPathTests.input(dims)]
        let expected = try #require(try ReferenceExecutor(model: m).run(x)["y"])
        let compiled = try Compiler().compile(m, inputShapes: x.mapValues(\.dims))
        #expect(compiled.kernelCounts[kind] == 1, "\(compiled.kernelCounts)")
        #expect(!compiled.kernelCounts.keys.contains { $0.contains("reference") }, "\(compiled.kernelCounts)")
        let actual = try #require(try compiled.run(x)["y"])
        #expect(actual == expected)
    }

    static func mask(_ dims: [Int]) throws -> Tensor {
        let n = dims.reduce(1, *)
        return try Tensor(dims: dims, scalars: (0..<n).map { ($0 * 7) % 5 < 2 })
    }

    /// cond [1, 1, 4, 6] over x [2, 3, 4, 6]: y a scalar constant (an attention mask's −inf),
    /// then y a computed value and x a constant row [6].
    @Test func whereBroadcastsConditionAndValues() throws {
        let dims = [2, 3, 4, 6]
        let first = model([Node(opType: "Where", inputs: ["c", "r", "v"], outputs: ["y"])], input: dims,
                          initializers: ["c": try Self.mask([1, 1, 4, 6]), "v": Tensor(scalar: Float(-1e9))])
        try check(first, dims: dims, kind: "Where")
        let second = model([Node(opType: "Where", inputs: ["c", "k", "r"], outputs: ["y"])], input: dims,
                           initializers: ["c": try Self.mask([3, 1, 6]), "k": try Tensor(dims: [6], scalars: (0..<6).map { Float($0) * 0.5 })])
        try check(second, dims: dims, kind: "Where")
    }

    /// Swin: [1, H, W, C] padded at the bottom and right of H and W; then a 3-D pad on every
    /// axis with a value, and the opset 18 `axes` form (negative axis).
    @Test func padPlacesTheInputInsideTheValue() throws {
        let swin = model([Node(opType: "Pad", inputs: ["r", "p"], outputs: ["y"])], input: [1, 5, 9, 4],
                         initializers: ["p": try Tensor(dims: [8], scalars: [0, 0, 0, 0, 0, 2, 5, 0] as [Int64])])
        try check(swin, dims: [1, 5, 9, 4], kind: "Pad")
        let all = model([Node(opType: "Pad", inputs: ["r", "p", "v"], outputs: ["y"])], input: [3, 4, 5],
                        initializers: ["p": try Tensor(dims: [6], scalars: [1, 2, 0, 0, 3, 1] as [Int64]), "v": Tensor(scalar: Float(-2.5))])
        try check(all, dims: [3, 4, 5], kind: "Pad")
        let axes = model([Node(opType: "Pad", inputs: ["r", "p", "", "a"], outputs: ["y"])], input: [2, 3, 4],
                         initializers: ["p": try Tensor(dims: [2], scalars: [1, 2] as [Int64]), "a": try Tensor(dims: [1], scalars: [-2] as [Int64])])
        try check(axes, dims: [2, 3, 4], kind: "Pad")
    }

    /// Reflect mode and negative pads (a crop) keep the reference.
    @Test func otherPadsKeepTheReference() throws {
        for (mode, pads) in [("reflect", [0, 1, 0, 1] as [Int64]), ("constant", [0, -1, 0, 1] as [Int64])] {
            let m = model([Node(opType: "Pad", inputs: ["r", "p"], outputs: ["y"], attributes: [NamedAttribute("mode", .string(mode))])],
                          input: [3, 4], initializers: ["p": try Tensor(dims: [4], scalars: pads)])
            let x = ["x": try DataMovementPathTests.input([3, 4])]
            let compiled = try Compiler().compile(m, inputShapes: x.mapValues(\.dims))
            #expect(compiled.kernelCounts["Pad"] == nil, "\(mode) \(pads): \(compiled.kernelCounts)")
            #expect(try compiled.run(x)["y"] == (try ReferenceExecutor(model: m).run(x)["y"]))
        }
    }
}
