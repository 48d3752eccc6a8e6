import Foundation
import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// QuantizeLinear → DequantizeLinear as fake quantization: straight-through gradients for the
/// value, LSQ's gradient for the scale, against hand-computed values; DequantizeLinear alone
/// (exact) against finite differences.
@Suite struct FakeQuantGradientTests {
    static func pair(axis: Int? = nil) -> [Node] {
        let attrs = axis.map { [NamedAttribute("axis", .int($0))] } ?? []
        return [Node(name: "q", opType: "QuantizeLinear", inputs: ["x", "s", "z"], outputs: ["c"], attributes: attrs),
                Node(name: "dq", opType: "DequantizeLinear", inputs: ["c", "s", "z"], outputs: ["y"], attributes: attrs)]
    }

    @Test func steAndLSQPerTensorU8() throws {
        // u8, s = 0.5, z = 10: representable x in [-5, 122.5].
        let x: [Float] = [0.3, -7, 200, 1.26, -4.9, 3.0]
        let m = GradientCheck.model(Self.pair(), initializers: [
            "x": try Tensor(dims: [6], scalars: x), "s": Tensor(scalar: Float(0.5)), "z": Tensor(scalar: UInt8(10))], output: "y")
        let program = try TrainingProgram(model: m, inputShapes: [:], trainable: ["x", "s"])
        let out = try program.forward(inputs: [:], parameters: ["x": FloatTensor(dims: [6], scalars: x), "s": FloatTensor(dims: [], scalars: [0.5])])
        // Hand: q = clamp(round(x/0.5) + 10, 0, 255); y = (q − 10)·0.5.
        #expect(out.outputs["y"]!.scalars == [0.5, -5, 122.5, 1.5, -5, 3.0])
        let g: [Float] = [1, 2, 3, 4, 5, 6]
        let grads = try program.backward(outputGradients: ["y": FloatTensor(dims: [6], scalars: g)])
        // STE: the gradient passes inside the range, zero outside (−7 and 200).
        let gx = grads["x"]!.scalars
        for (a, b) in zip(gx, [1, 0, 0, 4, 5, 6] as [Float]) { #expect(abs(a - b) < 1e-5) }
        // LSQ: inside round(x/s) − x/s, outside the clamped code (−10 below, 245 above), times 1/√(N·Qp).
        let terms: [Float] = [1 - 0.6, -10, 245, 3 - 2.52, -10 + 9.8, 6 - 6]
        let expected = zip(g, terms).reduce(0) { $0 + $1.0 * $1.1 } / (6 * 245).squareRoot()
        #expect(abs(grads["s"]!.scalars[0] - expected) < 1e-4 * max(1, abs(expected)))
        #expect(grads["s"]!.dims == [])
    }

    @Test func perAxisS8Weights() throws {
        // Two output channels with scales 0.1 and 1, s8 symmetric.
        let w: [Float] = [0.04, 13, -0.26, 2.4, -300, 0.6]
        let m = GradientCheck.model(Self.pair(axis: 0), initializers: [
            "x": try Tensor(dims: [2, 3], scalars: w), "s": try Tensor(dims: [2], scalars: [Float(0.1), 1]),
            "z": try Tensor(dims: [2], scalars: [Int8(0), 0])], output: "y")
        let program = try TrainingProgram(model: m, inputShapes: [:], trainable: ["x", "s"])
        let out = try program.forward(inputs: [:], parameters: ["x": FloatTensor(dims: [2, 3], scalars: w), "s": FloatTensor(dims: [2], scalars: [0.1, 1])])
        let y = out.outputs["y"]!.scalars
        for (a, b) in zip(y, [0.0, 12.7, -0.3, 2, -128, 1] as [Float]) { #expect(abs(a - b) < 1e-5) }
        let grads = try program.backward(outputGradients: ["y": FloatTensor(repeating: 1, dims: [2, 3])])
        #expect(grads["x"]!.scalars.map { ($0 * 1000).rounded() / 1000 } == [1, 0, 1, 1, 0, 1])
        let s0 = ((0 - 0.4) + 127 + (-3 + 2.6)) / Float(3 * 127).squareRoot()
        let s1 = ((2 - 2.4) + -128 + (1 - 0.6)) / Float(3 * 127).squareRoot()
        #expect(abs(grads["s"]!.scalars[0] - s0) < 1e-3)
        #expect(abs(grads["s"]!.scalars[1] - s1) < 1e-3)
    }

    @Test func dequantizeAgainstFiniteDifferences() throws {
        // DequantizeLinear is linear in the codes and the scale: finite differences are exact.
        let node = Node(opType: "DequantizeLinear", inputs: ["c", "s", "z"], outputs: ["y"], attributes: [NamedAttribute("axis", .int(1))])
        let factor = 1 / Float(2 * 5 * 127).squareRoot()
        try GradientCheck.check([node], trainable: ["c": GradientCheck.values(30, seed: 3, range: -100...100), "s": [0.02, 0.5, 1.5]],
                                dims: ["c": [2, 3, 5], "s": [3]], constants: ["z": try Tensor(dims: [3], scalars: [Int8(0), 0, 0])],
                                epsilon: 1e-2, atol: 2e-2, rtol: 2e-2, fdScale: ["s": factor])
    }

    @Test func outsideTheRangeMatchesFiniteDifferences() throws {
        // Clamped values: y = s·(qmax − z) exactly, so ∂y/∂s (times LSQ's factor) and ∂y/∂x = 0 are true derivatives.
        let x: [Float] = [500, 800, -300]
        let factor = 1 / Float(3 * 127).squareRoot()
        try GradientCheck.check(Self.pair(), trainable: ["x": x, "s": [0.5]], dims: ["x": [3], "s": [1]],
                                constants: ["z": Tensor(scalar: Int8(0))], fdScale: ["s": factor])
    }

    @Test func weightsBehindFakeQuantAndScalesAreTrainable() throws {
        var g = Graph(name: "fq")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.value(1), .value(2), .value(3), .value(3)]))]
        g.initializers["w"] = try Tensor(dims: [2, 2, 1, 1], scalars: [Float](repeating: 0.5, count: 4))
        g.initializers["b"] = try Tensor(dims: [2], scalars: [Float(0), 0])
        g.initializers["ws"] = try Tensor(dims: [2], scalars: [Float(0.01), 0.01])
        g.initializers["wz"] = try Tensor(dims: [2], scalars: [Int8(0), 0])
        g.initializers["xs"] = Tensor(scalar: Float(0.1))
        g.initializers["xz"] = Tensor(scalar: UInt8(128))
        g.nodes = [
            Node(name: "xq", opType: "QuantizeLinear", inputs: ["x", "xs", "xz"], outputs: ["xc"]),
            Node(name: "xdq", opType: "DequantizeLinear", inputs: ["xc", "xs", "xz"], outputs: ["xd"]),
            Node(name: "wq", opType: "QuantizeLinear", inputs: ["w", "ws", "wz"], outputs: ["wc"], attributes: [NamedAttribute("axis", .int(0))]),
            Node(name: "wdq", opType: "DequantizeLinear", inputs: ["wc", "ws", "wz"], outputs: ["wd"], attributes: [NamedAttribute("axis", .int(0))]),
            Node(name: "conv", opType: "Conv", inputs: ["xd", "wd", "b"], outputs: ["y"]),
        ]
        g.outputs = [ValueInfo(name: "y")]
        let m = Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
        #expect(TrainableParameters(model: m).names == ["w", "b"])
        #expect(TrainableParameters(model: m, quantizationScales: true).names == ["xs", "ws", "w", "b"])
        let frozen = TrainableParameters(model: m, freeze: ["xs"], quantizationScales: true)
        #expect(frozen.names == ["ws", "w", "b"] && frozen.frozen == ["xs"])
    }
}
