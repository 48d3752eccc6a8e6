import Foundation
import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// Backward rules of the non-conv ops against finite differences.
@Suite struct OpGradientTests {
    /// Inputs spread over [−4.5, 4.5] but kept 0.05 away from every kink the activations have
    /// (0, ±3 and the clip bounds), so a ±0.01 difference never straddles one.
    static func smooth(_ count: Int, seed: UInt64) -> [Float] {
        GradientCheck.values(count, seed: seed, range: -4.5...4.5).map { v in
            var v = v
            for kink: Float in [0, 3, -3, 6, -1, 1, 0.5] where abs(v - kink) < 0.05 { v = kink + (v < kink ? -0.05 : 0.05) }
            return v
        }
    }

    static let unary: [(String, [NamedAttribute])] = [
        ("Relu", []), ("LeakyRelu", [NamedAttribute("alpha", .float(0.1))]), ("HardSwish", []),
        ("HardSigmoid", [NamedAttribute("alpha", .float(1.0 / 6)), NamedAttribute("beta", .float(0.5))]),
        ("Sigmoid", []), ("Tanh", []), ("Erf", []), ("Identity", []),
    ]

    @Test(arguments: unary.map(\.0))
    func activation(_ op: String) throws {
        let attributes = Self.unary.first { $0.0 == op }!.1
        let node = Node(opType: op, inputs: ["x"], outputs: ["y"], attributes: attributes)
        try GradientCheck.check([node], trainable: ["x": Self.smooth(60, seed: 3)], dims: ["x": [3, 4, 5]])
    }

    @Test func clipWithConstantBounds() throws {
        let node = Node(opType: "Clip", inputs: ["x", "lo", "hi"], outputs: ["y"])
        try GradientCheck.check([node], trainable: ["x": Self.smooth(40, seed: 4)], dims: ["x": [40]],
                                constants: ["lo": Tensor(scalar: Float(-1)), "hi": Tensor(scalar: Float(1))])
    }

    @Test func geluBothForms() throws {
        for approximate in ["none", "tanh"] {
            let node = Node(opType: "Gelu", inputs: ["x"], outputs: ["y"], attributes: [NamedAttribute("approximate", .string(approximate))])
            var g = GradientCheck.model([node], initializers: ["x": try Tensor(dims: [30], scalars: Self.smooth(30, seed: 8))], output: "y", opset: 20)
            g.graph.outputs = [ValueInfo(name: "y")]
            let program = try TrainingProgram(model: g, inputShapes: [:], trainable: ["x"])
            let x = Self.smooth(30, seed: 8)
            let y = try program.forward(inputs: [:], parameters: ["x": FloatTensor(dims: [30], scalars: x)]).outputs["y"]!
            let grads = try program.backward(outputGradients: ["y": FloatTensor(repeating: 1, dims: [30])])["x"]!
            for i in 0..<30 {
                // Independent: numeric derivative of the forward in Double.
                func f(_ v: Double) -> Double {
                    if approximate == "none" { return 0.5 * v * (1 + erf(v / 2.0.squareRoot())) }
                    let inner: Double = (2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)
                    return 0.5 * v * (1 + tanh(inner))
                }
                let v = Double(x[i])
                #expect(abs(Double(y.scalars[i]) - f(v)) < 1e-5)
                let numeric = (f(v + 1e-5) - f(v - 1e-5)) / 2e-5
                #expect(abs(Double(grads.scalars[i]) - numeric) < 1e-4, "x = \(v)")
            }
        }
    }

    @Test(arguments: [("Add", [2, 3, 4, 5], [2, 3, 1, 1]), ("Mul", [2, 3, 4, 5], [2, 3, 1, 1]), ("Sub", [2, 3, 4], [4]),
                      ("Div", [3, 1, 5], [2, 1]), ("Mul", [1], [2, 3]), ("Add", [2, 3], [2, 3])])
    func broadcasting(_ op: String, _ a: [Int], _ b: [Int]) throws {
        var bValues = GradientCheck.values(b.reduce(1, *), seed: 12)
        if op == "Div" { bValues = bValues.map { $0 >= 0 ? $0 + 0.5 : $0 - 0.5 } }
        let node = Node(opType: op, inputs: ["a", "b"], outputs: ["y"])
        try GradientCheck.check([node], trainable: ["a": GradientCheck.values(a.reduce(1, *), seed: 11), "b": bValues],
                                dims: ["a": a, "b": b])
    }

    @Test func batchNormTrainingMode() throws {
        let node = Node(opType: "BatchNormalization", inputs: ["x", "g", "b", "m", "v"], outputs: ["y"],
                        attributes: [NamedAttribute("epsilon", .float(1e-3)), NamedAttribute("momentum", .float(0.9))])
        let state = ["m": try Tensor(dims: [3], scalars: [0.1, -0.2, 0.3] as [Float]),
                     "v": try Tensor(dims: [3], scalars: [1, 2, 0.5] as [Float])]
        try GradientCheck.check([node], trainable: ["x": GradientCheck.values(2 * 3 * 3 * 4, seed: 21), "g": [0.5, 1.5, -1],
                                                    "b": [0.1, 0.2, 0.3]],
                                dims: ["x": [2, 3, 3, 4], "g": [3], "b": [3]], constants: state, state: ["m", "v"],
                                epsilon: 3e-3)
    }

    @Test func batchNormFrozenStatistics() throws {
        let node = Node(opType: "BatchNormalization", inputs: ["x", "g", "b", "m", "v"], outputs: ["y"])
        let state = ["m": try Tensor(dims: [2], scalars: [0.1, -0.2] as [Float]), "v": try Tensor(dims: [2], scalars: [1, 2] as [Float])]
        try GradientCheck.check([node], trainable: ["x": GradientCheck.values(2 * 2 * 3, seed: 22), "g": [0.5, 1.5], "b": [0.1, 0.2]],
                                dims: ["x": [2, 2, 3], "g": [2], "b": [2]], constants: state, state: ["m", "v"],
                                options: TrainingOptions(freezeBatchNorm: true))
    }

    /// Running statistics follow PyTorch: momentum·old + (1 − momentum)·batch, the variance
    /// unbiased. Values computed by hand for one channel of four values.
    @Test func batchNormRunningStatistics() throws {
        let node = Node(opType: "BatchNormalization", inputs: ["x", "g", "b", "m", "v"], outputs: ["y"],
                        attributes: [NamedAttribute("momentum", .float(0.9))])
        let m = GradientCheck.model([node], initializers: [
            "x": try Tensor(dims: [2, 1, 2], scalars: [1, 2, 3, 6] as [Float]), "g": try Tensor(dims: [1], scalars: [1] as [Float]),
            "b": try Tensor(dims: [1], scalars: [0] as [Float]), "m": try Tensor(dims: [1], scalars: [0] as [Float]),
            "v": try Tensor(dims: [1], scalars: [1] as [Float])], output: "y")
        let program = try TrainingProgram(model: m, inputShapes: [:], trainable: ["x", "g", "b"], state: ["m", "v"])
        let result = try program.forward(inputs: [:], parameters: [
            "x": FloatTensor(dims: [2, 1, 2], scalars: [1, 2, 3, 6]), "g": FloatTensor(dims: [1], scalars: [1]),
            "b": FloatTensor(dims: [1], scalars: [0]), "m": FloatTensor(dims: [1], scalars: [0]), "v": FloatTensor(dims: [1], scalars: [1])])
        // mean 3, population variance (4 + 1 + 0 + 9)/4 = 3.5, unbiased 14/3.
        #expect(abs(result.state["m"]!.scalars[0] - 0.3) < 1e-6)
        #expect(abs(result.state["v"]!.scalars[0] - (0.9 + 0.1 * 14 / 3)) < 1e-6)
        let y = result.outputs["y"]!.scalars
        #expect(abs(y[0] - (1 - 3) / (3.5 + 1e-5).squareRoot()) < 1e-5)
    }

    @Test(arguments: [("linear", "half_pixel", [1, 2, 3, 4], [1, 2, 6, 8]), ("linear", "align_corners", [1, 1, 4, 3], [1, 1, 7, 5]),
                      ("linear", "pytorch_half_pixel", [2, 1, 5, 4], [2, 1, 3, 2]), ("nearest", "asymmetric", [1, 2, 3, 3], [1, 2, 6, 9])])
    func resize(_ mode: String, _ coordinates: String, _ input: [Int], _ output: [Int]) throws {
        let node = Node(opType: "Resize", inputs: ["x", "", "", "sizes"], outputs: ["y"],
                        attributes: [NamedAttribute("mode", .string(mode)), NamedAttribute("coordinate_transformation_mode", .string(coordinates)),
                                     NamedAttribute("nearest_mode", .string("floor"))])
        try GradientCheck.check([node], trainable: ["x": GradientCheck.values(input.reduce(1, *), seed: 31)], dims: ["x": input],
                                constants: ["sizes": try Tensor(dims: [4], scalars: output.map { Int64($0) })])
    }

    @Test func globalAveragePoolConcatReshape() throws {
        let nodes = [
            Node(opType: "GlobalAveragePool", inputs: ["x"], outputs: ["p"]),
            Node(opType: "Concat", inputs: ["p", "z"], outputs: ["c"], attributes: [NamedAttribute("axis", .int(1))]),
            Node(opType: "Reshape", inputs: ["c", "shape"], outputs: ["y"]),
        ]
        try GradientCheck.check(nodes, trainable: ["x": GradientCheck.values(2 * 3 * 4 * 5, seed: 41), "z": GradientCheck.values(4, seed: 42)],
                                dims: ["x": [2, 3, 4, 5], "z": [2, 2, 1, 1]],
                                constants: ["shape": try Tensor(dims: [2], scalars: [Int64(2), -1])])
    }

    /// A value read by two nodes gets the sum of both gradients.
    @Test func fanOutAccumulates() throws {
        let nodes = [
            Node(opType: "Sigmoid", inputs: ["x"], outputs: ["s"]),
            Node(opType: "Mul", inputs: ["x", "s"], outputs: ["y"]),
        ]
        try GradientCheck.check(nodes, trainable: ["x": Self.smooth(24, seed: 51)], dims: ["x": [2, 12]])
    }
}
