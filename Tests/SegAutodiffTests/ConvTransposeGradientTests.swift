import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// ConvTranspose backward against finite differences over groups, strides, pads,
/// output_padding, dilations and output_shape, with and without bias; the forward against a
/// direct scatter loop.
@Suite struct ConvTransposeGradientTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var input: [Int]
        var weights: [Int]
        var attributes: [NamedAttribute]
        var bias = true
        var description: String { name }
    }

    static func ints(_ name: String, _ v: [Int]) -> NamedAttribute { NamedAttribute(name, .ints(v)) }

    static let cases: [Case] = [
        Case(name: "2x2 stride 2 (upsampler)", input: [2, 3, 3, 4], weights: [3, 2, 2, 2], attributes: [ints("strides", [2, 2])]),
        Case(name: "3x3 stride 2 pad 1 output_padding 1", input: [1, 2, 4, 3], weights: [2, 3, 3, 3],
             attributes: [ints("strides", [2, 2]), ints("pads", [1, 1, 1, 1]), ints("output_padding", [1, 1])]),
        Case(name: "grouped 2, stride (1, 2)", input: [2, 4, 3, 3], weights: [4, 3, 3, 2],
             attributes: [NamedAttribute("group", .int(2)), ints("strides", [1, 2]), ints("pads", [0, 1, 1, 0])], bias: false),
        Case(name: "depthwise dilated", input: [1, 3, 4, 4], weights: [3, 1, 3, 3],
             attributes: [NamedAttribute("group", .int(3)), ints("dilations", [2, 2]), ints("pads", [2, 2, 2, 2])]),
        Case(name: "output_shape", input: [1, 2, 3, 3], weights: [2, 2, 3, 3],
             attributes: [ints("strides", [2, 2]), ints("output_shape", [6, 6])]),
        Case(name: "stride 1 overlap", input: [2, 2, 4, 5], weights: [2, 3, 3, 2], attributes: []),
        Case(name: "SAME_UPPER stride 2", input: [1, 2, 3, 4], weights: [2, 2, 3, 3],
             attributes: [NamedAttribute("auto_pad", .string("SAME_UPPER")), ints("strides", [2, 2])]),
    ]

    @Test(arguments: cases)
    func matchesFiniteDifferences(_ c: Case) throws {
        var inputs = ["x", "w"]
        var dims = ["x": c.input, "w": c.weights]
        let groups = c.attributes.first { $0.name == "group" }.flatMap { $0.value.intValue } ?? 1
        if c.bias { inputs.append("b"); dims["b"] = [c.weights[1] * groups] }
        var trainable: [String: [Float]] = [:]
        for (i, name) in inputs.enumerated() { trainable[name] = GradientCheck.values(dims[name]!.reduce(1, *), seed: UInt64(90 + i)) }
        let node = Node(opType: "ConvTranspose", inputs: inputs, outputs: ["y"], attributes: c.attributes)
        try GradientCheck.check([node], trainable: trainable, dims: dims)
    }

    /// y[co, iy·s − p + ky, ix·s − p + kx] += x[ci, iy, ix]·w[ci, co, ky, kx], written out.
    @Test func forwardMatchesScatter() throws {
        let (cin, cout, h, w, k, s, p) = (2, 3, 3, 4, 3, 2, 1)
        let x = GradientCheck.values(cin * h * w, seed: 95), weights = GradientCheck.values(cin * cout * k * k, seed: 96)
        let node = Node(opType: "ConvTranspose", inputs: ["x", "w"], outputs: ["y"],
                        attributes: [Self.ints("strides", [s, s]), Self.ints("pads", [p, p, p, p])])
        let model = GradientCheck.model([node], initializers: ["x": try Tensor(dims: [1, cin, h, w], scalars: x),
                                                               "w": try Tensor(dims: [cin, cout, k, k], scalars: weights)], output: "y")
        let program = try TrainingProgram(model: model, inputShapes: [:], trainable: ["x"])
        let y = try #require(program.forward(inputs: [:], parameters: ["x": FloatTensor(dims: [1, cin, h, w], scalars: x)]).outputs["y"])
        let (oh, ow) = (s * (h - 1) + k - 2 * p, s * (w - 1) + k - 2 * p)
        #expect(y.dims == [1, cout, oh, ow])
        var expected = [Float](repeating: 0, count: cout * oh * ow)
        for ci in 0..<cin { for co in 0..<cout { for iy in 0..<h { for ix in 0..<w { for ky in 0..<k { for kx in 0..<k {
            let oy = iy * s - p + ky, ox = ix * s - p + kx
            guard oy >= 0, oy < oh, ox >= 0, ox < ow else { continue }
            expected[(co * oh + oy) * ow + ox] += x[(ci * h + iy) * w + ix] * weights[((ci * cout + co) * k + ky) * k + kx]
        } } } } } }
        for i in expected.indices { #expect(abs(y.scalars[i] - expected[i]) < 1e-5) }
    }

    @Test func refusesOutputPaddingAtLeastTheStride() throws {
        let node = Node(opType: "ConvTranspose", inputs: ["x", "w"], outputs: ["y"],
                        attributes: [Self.ints("strides", [2, 2]), Self.ints("dilations", [3, 3]), Self.ints("output_padding", [2, 2])])
        let model = GradientCheck.model([node], initializers: ["x": try Tensor(dims: [1, 1, 2, 2], scalars: [Float](repeating: 1, count: 4)),
                                                               "w": try Tensor(dims: [1, 1, 2, 2], scalars: [Float](repeating: 1, count: 4))], output: "y")
        expectRefusal(model, mentioning: "output_padding")
    }
}
