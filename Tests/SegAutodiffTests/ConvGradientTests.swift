import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// Conv's backward against finite differences, on both sides of each algorithm the kernels
/// choose: pointwise (1×1, the GEMM on X itself), general im2col (strided, padded, dilated,
/// grouped, auto_pad), and the direct depthwise loops.
@Suite struct ConvGradientTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var input: [Int]
        var weights: [Int]
        var attributes: [NamedAttribute]
        var bias = true
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "pointwise", input: [2, 4, 5, 6], weights: [3, 4, 1, 1], attributes: []),
        Case(name: "3x3 stride 2 pad 1", input: [2, 3, 7, 8], weights: [4, 3, 3, 3],
             attributes: [NamedAttribute("strides", .ints([2, 2])), NamedAttribute("pads", .ints([1, 1, 1, 1]))]),
        Case(name: "dilated 2, asymmetric pads", input: [1, 2, 9, 7], weights: [3, 2, 3, 3],
             attributes: [NamedAttribute("dilations", .ints([2, 2])), NamedAttribute("pads", .ints([2, 1, 0, 2]))], bias: false),
        Case(name: "grouped 2", input: [2, 4, 5, 5], weights: [6, 2, 3, 3],
             attributes: [NamedAttribute("group", .int(2)), NamedAttribute("pads", .ints([1, 1, 1, 1]))]),
        Case(name: "depthwise 3x3 stride 2", input: [2, 3, 8, 9], weights: [3, 1, 3, 3],
             attributes: [NamedAttribute("group", .int(3)), NamedAttribute("strides", .ints([2, 2])), NamedAttribute("pads", .ints([1, 1, 1, 1]))]),
        Case(name: "depthwise 5x5 dilated", input: [1, 2, 9, 9], weights: [2, 1, 5, 5],
             attributes: [NamedAttribute("group", .int(2)), NamedAttribute("dilations", .ints([2, 2])), NamedAttribute("pads", .ints([4, 4, 4, 4]))]),
        Case(name: "SAME_UPPER stride 2 1x1", input: [1, 3, 5, 6], weights: [2, 3, 1, 1],
             attributes: [NamedAttribute("auto_pad", .string("SAME_UPPER")), NamedAttribute("strides", .ints([2, 2]))]),
        Case(name: "kernel wider than tall, stride (1,2)", input: [1, 2, 6, 10], weights: [2, 2, 1, 5],
             attributes: [NamedAttribute("strides", .ints([1, 2])), NamedAttribute("pads", .ints([0, 2, 0, 2]))]),
    ]

    @Test(arguments: cases)
    func matchesFiniteDifferences(_ c: Case) throws {
        var inputs = ["x", "w"]
        var dims = ["x": c.input, "w": c.weights]
        if c.bias { inputs.append("b"); dims["b"] = [c.weights[0]] }
        var trainable: [String: [Float]] = [:]
        for (i, name) in inputs.enumerated() {
            trainable[name] = GradientCheck.values(dims[name]!.reduce(1, *), seed: UInt64(i + 1))
        }
        let node = Node(opType: "Conv", inputs: inputs, outputs: ["y"], attributes: c.attributes)
        try GradientCheck.check([node], trainable: trainable, dims: dims)
    }

    /// A frozen (static) weight still passes gradient to the input and is itself left alone.
    @Test func frozenWeightsGiveInputGradientOnly() throws {
        let w = try Tensor(dims: [2, 3, 3, 3], scalars: GradientCheck.values(54, seed: 5))
        let node = Node(opType: "Conv", inputs: ["x", "w"], outputs: ["y"], attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1]))])
        try GradientCheck.check([node], trainable: ["x": GradientCheck.values(2 * 3 * 4 * 4, seed: 6)],
                                dims: ["x": [2, 3, 4, 4]], constants: ["w": w])
    }
}
