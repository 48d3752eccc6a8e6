import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// The specialised arithmetic loops: same-shape operands (one unit-stride run), a broadcast
/// first operand (its gradient summed per run), a scalar operand and a general-stride pair,
/// for every op; and the registry covering every op the training issue lists.
@Suite struct ArithmeticGradientTests {
    @Test(arguments: ["Add", "Sub", "Mul", "Div"], [([2, 3, 4], [2, 3, 4]), ([3, 1], [3, 4]), ([1], [5, 2]), ([2, 1, 3], [1, 4, 1])])
    func broadcastForms(_ op: String, _ shapes: ([Int], [Int])) throws {
        let (a, b) = shapes
        // Divisors kept away from 0.
        let bValues = GradientCheck.values(b.reduce(1, *), seed: 102).map { $0 >= 0 ? $0 + 0.5 : $0 - 0.5 }
        let node = Node(opType: op, inputs: ["a", "b"], outputs: ["y"])
        try GradientCheck.check([node], trainable: ["a": GradientCheck.values(a.reduce(1, *), seed: 101), "b": bValues], dims: ["a": a, "b": b])
    }

    @Test func forwardValuesAcrossForms() throws {
        let node = Node(opType: "Sub", inputs: ["a", "b"], outputs: ["y"])
        let model = GradientCheck.model([node], initializers: ["a": try Tensor(dims: [2, 1], scalars: [10, 20] as [Float]),
                                                               "b": try Tensor(dims: [3], scalars: [1, 2, 3] as [Float])], output: "y")
        let program = try TrainingProgram(model: model, inputShapes: [:], trainable: ["a"])
        let y = try #require(program.forward(inputs: [:], parameters: ["a": FloatTensor(dims: [2, 1], scalars: [10, 20])]).outputs["y"])
        #expect(y.dims == [2, 3])
        #expect(y.scalars == [9, 8, 7, 19, 18, 17])
    }

    @Test(arguments: [
        ("Conv", 11), ("ConvTranspose", 11), ("BatchNormalization", 15), ("Relu", 14), ("Clip", 13), ("LeakyRelu", 16),
        ("HardSwish", 14), ("HardSigmoid", 6), ("Sigmoid", 13), ("Tanh", 13), ("Erf", 13), ("Gelu", 20), ("Add", 14), ("Sub", 14),
        ("Mul", 14), ("Div", 14), ("Concat", 13), ("Split", 18), ("Slice", 13), ("Pad", 18), ("Reshape", 14), ("Flatten", 13),
        ("Transpose", 13), ("Squeeze", 13), ("Unsqueeze", 13), ("Resize", 13), ("GlobalAveragePool", 1), ("AveragePool", 19),
        ("MaxPool", 12), ("ReduceMean", 18), ("MatMul", 13), ("Gemm", 13), ("Softmax", 13), ("LayerNormalization", 17), ("Dropout", 13),
    ])
    func registryCoversTheIssuesOps(_ op: String, _ opset: Int) {
        #expect(GradientRegistry.standard.rule(domain: "", opType: op, opset: opset) != nil)
    }
}
