import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// Small chains of the newer rules, checked end to end, so the shapes and gradients they hand
/// each other line up: an encoder-decoder (Conv, AveragePool, ConvTranspose, Pad, Softmax; MaxPool has its own
/// tests with well-separated inputs, here a ±ε nudge of a weight may swap a window's winner) and an
/// attention block (LayerNormalization, MatMul, Transpose, Softmax, Split).
@Suite struct CompositeGradientTests {
    static func i64(_ v: [Int]) throws -> Tensor { try Tensor(dims: [v.count], scalars: v.map { Int64($0) }) }

    @Test func encoderDecoder() throws {
        let nodes = [
            Node(opType: "Conv", inputs: ["x", "w1"], outputs: ["c"], attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1]))]),
            Node(opType: "AveragePool", inputs: ["c"], outputs: ["p"], attributes: [NamedAttribute("kernel_shape", .ints([2, 2])), NamedAttribute("strides", .ints([2, 2]))]),
            Node(opType: "ConvTranspose", inputs: ["p", "w2", "b2"], outputs: ["u"], attributes: [NamedAttribute("strides", .ints([2, 2]))]),
            Node(opType: "Pad", inputs: ["u", "pads"], outputs: ["q"], attributes: [NamedAttribute("mode", .string("reflect"))]),
            Node(opType: "Softmax", inputs: ["q"], outputs: ["y"], attributes: [NamedAttribute("axis", .int(1))]),
        ]
        let dims = ["x": [1, 2, 4, 4], "w1": [3, 2, 3, 3], "w2": [3, 2, 2, 2], "b2": [2]]
        var trainable: [String: [Float]] = [:]
        for (i, name) in dims.keys.sorted().enumerated() { trainable[name] = GradientCheck.values(dims[name]!.reduce(1, *), seed: UInt64(110 + i)) }
        try GradientCheck.check(nodes, trainable: trainable, dims: dims, constants: ["pads": try Self.i64([0, 0, 1, 1, 0, 0, 1, 1])])
    }

    @Test func attentionBlock() throws {
        let nodes = [
            Node(opType: "LayerNormalization", inputs: ["x", "g", "b"], outputs: ["n"], attributes: [NamedAttribute("axis", .int(-1))]),
            Node(opType: "MatMul", inputs: ["n", "wqk"], outputs: ["qk"]),
            Node(opType: "Split", inputs: ["qk", "sizes"], outputs: ["q", "k"], attributes: [NamedAttribute("axis", .int(-1))]),
            Node(opType: "Transpose", inputs: ["k"], outputs: ["kt"], attributes: [NamedAttribute("perm", .ints([0, 2, 1]))]),
            Node(opType: "MatMul", inputs: ["q", "kt"], outputs: ["s"]),
            Node(opType: "Softmax", inputs: ["s"], outputs: ["a"], attributes: [NamedAttribute("axis", .int(-1))]),
            Node(opType: "MatMul", inputs: ["a", "n"], outputs: ["y"]),
        ]
        let dims = ["x": [2, 3, 4], "g": [4], "b": [4], "wqk": [4, 6]]
        var trainable: [String: [Float]] = [:]
        for (i, name) in dims.keys.sorted().enumerated() { trainable[name] = GradientCheck.values(dims[name]!.reduce(1, *), seed: UInt64(120 + i)) }
        try GradientCheck.check(nodes, trainable: trainable, dims: dims, constants: ["sizes": try Self.i64([3, 3])], epsilon: 3e-3)
    }
}
