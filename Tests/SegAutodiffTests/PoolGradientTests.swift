import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// MaxPool and AveragePool backward against finite differences, and their forward against
/// values worked out by hand where ceil_mode, padding and ties decide the answer.
@Suite struct PoolGradientTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var input: [Int]
        var attributes: [NamedAttribute]
        var description: String { name }
    }

    static func ints(_ name: String, _ v: [Int]) -> NamedAttribute { NamedAttribute(name, .ints(v)) }

    static let windows: [Case] = [
        Case(name: "2x2 stride 2", input: [2, 3, 6, 8], attributes: [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])]),
        Case(name: "3x3 stride 2 pad 1", input: [1, 2, 7, 7], attributes: [ints("kernel_shape", [3, 3]), ints("strides", [2, 2]), ints("pads", [1, 1, 1, 1])]),
        Case(name: "ceil_mode, asymmetric pads", input: [1, 2, 6, 7],
             attributes: [ints("kernel_shape", [3, 2]), ints("strides", [2, 2]), ints("pads", [0, 1, 1, 0]), NamedAttribute("ceil_mode", .int(1))]),
        Case(name: "overlapping stride 1", input: [2, 1, 5, 5], attributes: [ints("kernel_shape", [3, 3])]),
        Case(name: "SAME_UPPER stride 2", input: [1, 2, 5, 6],
             attributes: [ints("kernel_shape", [3, 3]), ints("strides", [2, 2]), NamedAttribute("auto_pad", .string("SAME_UPPER"))]),
        Case(name: "1-D", input: [2, 3, 9], attributes: [ints("kernel_shape", [3]), ints("strides", [2]), ints("pads", [1, 1])]),
        Case(name: "3-D", input: [1, 2, 4, 4, 5], attributes: [ints("kernel_shape", [2, 2, 3]), ints("strides", [2, 2, 2])]),
    ]

    /// Distinct values at least 0.1 apart, so a ±0.01 nudge never changes a window's winner.
    static func separated(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { Float($0) * 0.1 - Float(count) * 0.05 }.shuffled(using: &rng)
    }

    @Test(arguments: windows + [Case(name: "dilated 2", input: [1, 2, 7, 8],
                                     attributes: [ints("kernel_shape", [2, 3]), ints("dilations", [2, 2]), ints("pads", [1, 1, 1, 1])])])
    func maxPool(_ c: Case) throws {
        let node = Node(opType: "MaxPool", inputs: ["x"], outputs: ["y"], attributes: c.attributes)
        try GradientCheck.check([node], trainable: ["x": Self.separated(c.input.reduce(1, *), seed: 7)], dims: ["x": c.input])
    }

    @Test(arguments: windows, [0, 1])
    func averagePool(_ c: Case, _ includePad: Int) throws {
        let node = Node(opType: "AveragePool", inputs: ["x"], outputs: ["y"],
                        attributes: c.attributes + [NamedAttribute("count_include_pad", .int(includePad))])
        try GradientCheck.check([node], trainable: ["x": GradientCheck.values(c.input.reduce(1, *), seed: 8)], dims: ["x": c.input])
    }

    @Test func averagePoolDilatedAtOpset19() throws {
        let node = Node(opType: "AveragePool", inputs: ["x"], outputs: ["y"],
                        attributes: [Self.ints("kernel_shape", [2, 2]), Self.ints("dilations", [2, 1]), Self.ints("pads", [1, 0, 1, 1])])
        try GradientCheck.check([node], trainable: ["x": GradientCheck.values(2 * 6 * 5, seed: 9)], dims: ["x": [1, 2, 6, 5]], opset: 19)
    }

    static func run(_ op: String, _ x: [Float], dims: [Int], _ attributes: [NamedAttribute], gradient: [Float]) throws -> (y: [Float], dx: [Float]) {
        let node = Node(opType: op, inputs: ["x"], outputs: ["y"], attributes: attributes)
        let model = GradientCheck.model([node], initializers: ["x": try Tensor(dims: dims, scalars: x)], output: "y")
        let program = try TrainingProgram(model: model, inputShapes: [:], trainable: ["x"])
        let y = try #require(program.forward(inputs: [:], parameters: ["x": FloatTensor(dims: dims, scalars: x)]).outputs["y"])
        let dx = try #require(program.backward(outputGradients: ["y": FloatTensor(dims: y.dims, scalars: gradient)])["x"])
        return (y.scalars, dx.scalars)
    }

    /// Tied maxima: the whole gradient goes to the first in row-major window order, as in PyTorch.
    @Test func maxPoolTiesGoToTheFirst() throws {
        let x: [Float] = [5, 1, 5, 5,
                          5, 2, 0, 5]
        let r = try Self.run("MaxPool", x, dims: [1, 1, 2, 4], [Self.ints("kernel_shape", [2, 2]), Self.ints("strides", [2, 2])], gradient: [1, 10])
        #expect(r.y == [5, 5])
        #expect(r.dx == [1, 0, 10, 0, 0, 0, 0, 0])
    }

    /// ceil_mode's extra window at the end: with no padding its divisor is the one tap inside
    /// (PyTorch: avg_pool1d([1, 2, 3, 4, 5], 2, 2, ceil_mode=True) = [1.5, 3.5, 5]); with
    /// padding, count_include_pad counts the explicit pad but not the ceil_mode overhang.
    @Test func averagePoolCeilModeDivisors() throws {
        let ceil = NamedAttribute("ceil_mode", .int(1))
        let k2s2 = [Self.ints("kernel_shape", [2]), Self.ints("strides", [2]), ceil]
        for includePad in [0, 1] {
            let r = try Self.run("AveragePool", [1, 2, 3, 4, 5], dims: [1, 1, 5], k2s2 + [NamedAttribute("count_include_pad", .int(includePad))],
                                 gradient: [1, 1, 1])
            #expect(r.y == [1.5, 3.5, 5])
            #expect(r.dx == [0.5, 0.5, 0.5, 0.5, 1])
        }
        // Input 4, pads 1 each side: windows {−1, 0}, {1, 2}, {3, 4}; position 4 is explicit pad.
        let padded = try Self.run("AveragePool", [1, 2, 3, 4], dims: [1, 1, 4],
                                  k2s2 + [Self.ints("pads", [1, 1]), NamedAttribute("count_include_pad", .int(1))], gradient: [2, 2, 2])
        #expect(padded.y == [0.5, 2.5, 2])
        #expect(padded.dx == [1, 1, 1, 1])
        let excluded = try Self.run("AveragePool", [1, 2, 3, 4], dims: [1, 1, 4],
                                    k2s2 + [Self.ints("pads", [1, 1]), NamedAttribute("count_include_pad", .int(0))], gradient: [2, 2, 2])
        #expect(excluded.y == [1, 2.5, 4])
        #expect(excluded.dx == [2, 1, 1, 2])
    }

    @Test func averagePoolDilationsBeforeOpset19AreRefused() throws {
        let node = Node(opType: "AveragePool", inputs: ["x"], outputs: ["y"], attributes: [Self.ints("kernel_shape", [2, 2]), Self.ints("dilations", [2, 2])])
        let model = GradientCheck.model([node], initializers: ["x": try Tensor(dims: [1, 1, 4, 4], scalars: [Float](repeating: 0, count: 16))],
                                        output: "y", opset: 11)
        expectRefusal(model, mentioning: "dilations")
    }

    @Test func maxPoolIndicesOutputIsRefused() throws {
        let node = Node(opType: "MaxPool", inputs: ["x"], outputs: ["y", "i"], attributes: [Self.ints("kernel_shape", [2, 2])])
        let model = GradientCheck.model([node], initializers: ["x": try Tensor(dims: [1, 1, 2, 2], scalars: [Float](repeating: 0, count: 4))], output: "y")
        expectRefusal(model, mentioning: "Indices")
    }
}
