import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// Dropout in training mode: masks are 0 or 1/(1 − ratio), the backward reuses the forward's
/// mask, every forward draws a new mask reproducibly from the seed, and the node is the
/// identity where ONNX or a zero ratio say so.
@Suite struct DropoutTests {
    static func program(_ node: Node, count: Int, opset: Int, constants: [String: Tensor] = [:], seed: UInt64 = 1) throws -> TrainingProgram {
        var initializers = constants
        initializers["x"] = try Tensor(dims: [count], scalars: [Float](repeating: 1, count: count))
        let model = GradientCheck.model([node], initializers: initializers, output: "y", opset: opset)
        return try TrainingProgram(model: model, inputShapes: [:], trainable: ["x"], options: TrainingOptions(seed: seed))
    }

    static func step(_ program: TrainingProgram, _ x: [Float]) throws -> (y: [Float], dx: [Float]) {
        let y = try #require(program.forward(inputs: [:], parameters: ["x": FloatTensor(dims: [x.count], scalars: x)]).outputs["y"])
        let g = GradientCheck.values(x.count, seed: 5)
        let dx = try #require(program.backward(outputGradients: ["y": FloatTensor(dims: [x.count], scalars: g)])["x"])
        // dy/dx is diagonal: y_i = m_i·x_i, so dx_i = g_i·y_i/x_i.
        for i in x.indices { #expect(abs(dx.scalars[i] - g[i] * y.scalars[i] / x[i]) < 1e-5) }
        return (y.scalars, dx.scalars)
    }

    @Test(arguments: [(11, 0.25), (12, 0.5), (13, 0.75)] as [(Int, Float)])
    func trainingMask(_ opset: Int, _ ratio: Float) throws {
        let node: Node
        var constants: [String: Tensor] = [:]
        if opset >= 12 {
            node = Node(opType: "Dropout", inputs: ["x", "r", "t"], outputs: ["y"])
            constants = ["r": Tensor(scalar: ratio), "t": try Tensor(dims: [], scalars: [true])]
        } else {
            node = Node(opType: "Dropout", inputs: ["x"], outputs: ["y"], attributes: [NamedAttribute("ratio", .float(ratio))])
        }
        let count = 4000
        let program = try Self.program(node, count: count, opset: opset, constants: constants)
        let x = GradientCheck.values(count, seed: 3, range: 0.5...1.5)
        let first = try Self.step(program, x)
        let kept = (0..<count).filter { first.y[$0] != 0 }
        for i in kept { #expect(abs(first.y[i] - x[i] / (1 - ratio)) < 1e-5) }
        // 4000 draws: the kept share is within 5 standard deviations of 1 − ratio.
        let share = Float(kept.count) / Float(count)
        let sigma = (ratio * (1 - ratio) / Float(count)).squareRoot()
        #expect(abs(share - (1 - ratio)) < 5 * sigma, "kept \(share)")
        // The next step draws another mask; a program built with the same seed repeats both.
        let second = try Self.step(program, x)
        #expect(second.y != first.y)
        let again = try Self.program(node, count: count, opset: opset, constants: constants)
        #expect(try Self.step(again, x).y == first.y)
        #expect(try Self.step(again, x).y == second.y)
        let otherSeed = try Self.program(node, count: count, opset: opset, constants: constants, seed: 2)
        #expect(try Self.step(otherSeed, x).y != first.y)
    }

    @Test func identityCases() throws {
        let x = GradientCheck.values(50, seed: 4, range: 0.5...1.5)
        let cases: [(Node, Int, [String: Tensor])] = [
            (Node(opType: "Dropout", inputs: ["x", "r", "t"], outputs: ["y"]), 13, ["r": Tensor(scalar: Float(0.5)), "t": try Tensor(dims: [], scalars: [false])]),
            (Node(opType: "Dropout", inputs: ["x", "r"], outputs: ["y"]), 13, ["r": Tensor(scalar: Float(0))]),
            (Node(opType: "Dropout", inputs: ["x"], outputs: ["y"], attributes: [NamedAttribute("ratio", .float(0))]), 10, [:]),
            (Node(opType: "Dropout", inputs: ["x"], outputs: ["y"], attributes: [NamedAttribute("is_test", .int(1))]), 6, [:]),
        ]
        for (node, opset, constants) in cases {
            let r = try Self.step(try Self.program(node, count: 50, opset: opset, constants: constants), x)
            #expect(r.y == x, "opset \(opset) \(constants.keys.sorted())")
        }
    }

    @Test func maskOutputIsZerosAndOnes() throws {
        let node = Node(opType: "Dropout", inputs: ["x"], outputs: ["y", "m"], attributes: [NamedAttribute("ratio", .float(0.5))])
        let model = GradientCheck.model([node], initializers: ["x": try Tensor(dims: [100], scalars: [Float](repeating: 2, count: 100))], output: "y", opset: 11)
        var m = model
        m.graph.outputs.append(ValueInfo(name: "m"))
        let program = try TrainingProgram(model: m, inputShapes: [:], trainable: ["x"], outputs: ["y", "m"])
        let out = try program.forward(inputs: [:], parameters: ["x": FloatTensor(repeating: 2, dims: [100])]).outputs
        let y = try #require(out["y"]), mask = try #require(out["m"])
        for i in 0..<100 { #expect(mask.scalars[i] == (y.scalars[i] == 0 ? 0 : 1)) }
    }

    @Test func refusesARatioOfOne() throws {
        let node = Node(opType: "Dropout", inputs: ["x"], outputs: ["y"], attributes: [NamedAttribute("ratio", .float(1))])
        let model = GradientCheck.model([node], initializers: ["x": try Tensor(dims: [2], scalars: [1, 2] as [Float])], output: "y", opset: 10)
        expectRefusal(model, mentioning: "ratio")
    }
}
