import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// Transpose, Pad, Slice, Split, Squeeze and Unsqueeze: finite differences over the attribute
/// and input forms of each opset, and forward values worked out by hand.
@Suite struct LayoutGradientTests {
    static func i64(_ v: [Int]) throws -> Tensor { try Tensor(dims: [v.count], scalars: v.map { Int64($0) }) }

    static func forward(_ node: Node, x: [Float], dims: [Int], constants: [String: Tensor] = [:], opset: Int = 17,
                        output: String = "y") throws -> FloatTensor {
        var initializers = constants
        initializers["x"] = try Tensor(dims: dims, scalars: x)
        let model = GradientCheck.model([node], initializers: initializers, output: output, opset: opset)
        let program = try TrainingProgram(model: model, inputShapes: [:], trainable: ["x"])
        return try #require(program.forward(inputs: [:], parameters: ["x": FloatTensor(dims: dims, scalars: x)]).outputs[output])
    }

    @Test(arguments: [[0, 2, 3, 1], [3, 1, 0, 2], [1, 0, 2, 3]])
    func transpose(_ perm: [Int]) throws {
        let node = Node(opType: "Transpose", inputs: ["x"], outputs: ["y"], attributes: [NamedAttribute("perm", .ints(perm))])
        try GradientCheck.check([node], trainable: ["x": GradientCheck.values(120, seed: 81)], dims: ["x": [2, 3, 4, 5]])
    }

    @Test func transposeDefaultReverses() throws {
        let y = try Self.forward(Node(opType: "Transpose", inputs: ["x"], outputs: ["y"]), x: [1, 2, 3, 4, 5, 6], dims: [2, 3])
        #expect(y.dims == [3, 2])
        #expect(y.scalars == [1, 4, 2, 5, 3, 6])
    }

    @Test(arguments: [("constant", [1, 2, 0, 1, 0, 3]), ("reflect", [2, 1, 1, 0, 2, 2]), ("edge", [0, 3, 2, 2, 1, 0]),
                      ("constant", [-1, 1, 0, 0, 2, -2])])
    func padAsInputs(_ mode: String, _ pads: [Int]) throws {
        let node = Node(opType: "Pad", inputs: ["x", "pads", "value"], outputs: ["y"], attributes: [NamedAttribute("mode", .string(mode))])
        try GradientCheck.check([node], trainable: ["x": GradientCheck.values(3 * 4 * 5, seed: 82)], dims: ["x": [3, 4, 5]],
                                constants: ["pads": try Self.i64(pads), "value": Tensor(scalar: Float(0.5))])
    }

    @Test func padAsAttributeBeforeOpset11() throws {
        let node = Node(opType: "Pad", inputs: ["x"], outputs: ["y"], attributes: [
            NamedAttribute("mode", .string("reflect")), NamedAttribute("pads", .ints([0, 0, 1, 2, 0, 0, 2, 1]))])
        try GradientCheck.check([node], trainable: ["x": GradientCheck.values(2 * 2 * 4 * 4, seed: 83)], dims: ["x": [2, 2, 4, 4]], opset: 10)
    }

    @Test func padWithAxesAtOpset18() throws {
        let node = Node(opType: "Pad", inputs: ["x", "pads", "", "axes"], outputs: ["y"], attributes: [NamedAttribute("mode", .string("edge"))])
        try GradientCheck.check([node], trainable: ["x": GradientCheck.values(24, seed: 84)], dims: ["x": [2, 3, 4]],
                                constants: ["pads": try Self.i64([1, 0, 2, 3]), "axes": try Self.i64([-1, 1])], opset: 18)
    }

    /// reflect mirrors without repeating the edge, edge repeats it; constant fills.
    @Test func padValues() throws {
        for (mode, expected) in [("reflect", [3, 2, 1, 2, 3, 2]), ("edge", [1, 1, 1, 2, 3, 3]), ("constant", [7, 7, 1, 2, 3, 7])] as [(String, [Float])] {
            let node = Node(opType: "Pad", inputs: ["x", "pads", "value"], outputs: ["y"], attributes: [NamedAttribute("mode", .string(mode))])
            let y = try Self.forward(node, x: [1, 2, 3], dims: [3], constants: ["pads": try Self.i64([2, 1]), "value": Tensor(scalar: Float(7))])
            #expect(y.scalars == expected, "\(mode)")
        }
    }

    @Test func padRefusesWrap() throws {
        let node = Node(opType: "Pad", inputs: ["x", "pads"], outputs: ["y"], attributes: [NamedAttribute("mode", .string("wrap"))])
        let model = GradientCheck.model([node], initializers: ["x": try Tensor(dims: [3], scalars: [1, 2, 3] as [Float]), "pads": try Self.i64([1, 1])],
                                        output: "y", opset: 19)
        expectRefusal(model, mentioning: "mode")
    }

    struct SliceCase: CustomStringConvertible, Sendable {
        var starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?
        var description: String { "starts \(starts) ends \(ends) axes \(axes ?? []) steps \(steps ?? [])" }
    }

    @Test(arguments: [
        SliceCase(starts: [1, 0], ends: [3, 4], axes: [1, 2], steps: nil),
        SliceCase(starts: [-1, 4], ends: [-100, 0], axes: [2, 1], steps: [-2, -1]),
        SliceCase(starts: [0, 1], ends: [Int(Int32.max), -1], axes: nil, steps: [2, 2]),
        SliceCase(starts: [3], ends: [0], axes: [-1], steps: [-1]),
    ])
    func slice(_ c: SliceCase) throws {
        var inputs = ["x", "starts", "ends"]
        var constants = ["starts": try Self.i64(c.starts), "ends": try Self.i64(c.ends)]
        if c.axes != nil || c.steps != nil { inputs.append("axes"); constants["axes"] = try Self.i64(c.axes ?? Array(c.starts.indices)) }
        if let steps = c.steps { inputs.append("steps"); constants["steps"] = try Self.i64(steps) }
        let node = Node(opType: "Slice", inputs: inputs, outputs: ["y"])
        try GradientCheck.check([node], trainable: ["x": GradientCheck.values(3 * 5 * 6, seed: 85)], dims: ["x": [3, 5, 6]], constants: constants)
    }

    @Test func sliceValuesAndAttributeForm() throws {
        let steps = Node(opType: "Slice", inputs: ["x", "s", "e", "a", "st"], outputs: ["y"])
        let y = try Self.forward(steps, x: [0, 1, 2, 3, 4, 5, 6], dims: [7], constants: [
            "s": try Self.i64([-2]), "e": try Self.i64([0]), "a": try Self.i64([0]), "st": try Self.i64([-2])])
        #expect(y.scalars == [5, 3, 1])
        let old = Node(opType: "Slice", inputs: ["x"], outputs: ["y"], attributes: [
            NamedAttribute("starts", .ints([1])), NamedAttribute("ends", .ints([100])), NamedAttribute("axes", .ints([1]))])
        try GradientCheck.check([old], trainable: ["x": GradientCheck.values(12, seed: 86)], dims: ["x": [3, 4]], opset: 9)
        #expect(try Self.forward(old, x: (0..<6).map(Float.init), dims: [2, 3], opset: 9).scalars == [1, 2, 4, 5])
    }

    /// Split parts combined as Σ part_i·R_i through a Concat, so every part's gradient counts.
    static func splitCheck(_ split: Node, parts: Int, dims: [Int], constants: [String: Tensor] = [:], opset: Int) throws {
        let names = (0..<parts).map { "p\($0)" }
        var node = split
        node.outputs = names
        let concat = Node(opType: "Concat", inputs: names, outputs: ["y"], attributes: [NamedAttribute("axis", .int(1))])
        try GradientCheck.check([node, concat], trainable: ["x": GradientCheck.values(dims.reduce(1, *), seed: 87)], dims: ["x": dims],
                                constants: constants, opset: opset)
    }

    @Test func splitForms() throws {
        let dims = [2, 7, 3]
        try Self.splitCheck(Node(opType: "Split", inputs: ["x"], outputs: [], attributes: [NamedAttribute("axis", .int(1)), NamedAttribute("split", .ints([2, 4, 1]))]),
                            parts: 3, dims: dims, opset: 11)
        try Self.splitCheck(Node(opType: "Split", inputs: ["x", "split"], outputs: [], attributes: [NamedAttribute("axis", .int(-2))]),
                            parts: 2, dims: dims, constants: ["split": try Self.i64([5, 2])], opset: 13)
        try Self.splitCheck(Node(opType: "Split", inputs: ["x"], outputs: [], attributes: [NamedAttribute("axis", .int(1)), NamedAttribute("num_outputs", .int(3))]),
                            parts: 3, dims: dims, opset: 18)
        try Self.splitCheck(Node(opType: "Split", inputs: ["x"], outputs: [], attributes: [NamedAttribute("axis", .int(1))]),
                            parts: 1, dims: dims, opset: 13)
    }

    /// num_outputs 3 over 7: parts of 3, 3 and 1.
    @Test func splitNumOutputsSizes() throws {
        let node = Node(opType: "Split", inputs: ["x"], outputs: ["a", "b", "y"], attributes: [NamedAttribute("num_outputs", .int(3))])
        let y = try Self.forward(node, x: (0..<7).map(Float.init), dims: [7], opset: 18)
        #expect(y.scalars == [6])
    }

    /// From opset 13 Squeeze and Unsqueeze take axes as an input.
    @Test func squeezeUnsqueezeWithAxesInputs() throws {
        let nodes = [
            Node(opType: "Unsqueeze", inputs: ["x", "ua"], outputs: ["u"]),
            Node(opType: "Sigmoid", inputs: ["u"], outputs: ["s"]),
            Node(opType: "Squeeze", inputs: ["s", "sa"], outputs: ["y"]),
        ]
        for opset in [13, 18] {
            try GradientCheck.check(nodes, trainable: ["x": GradientCheck.values(12, seed: 88)], dims: ["x": [3, 4]],
                                    constants: ["ua": try Self.i64([0, 3]), "sa": try Self.i64([0])], opset: opset)
        }
        let attributeForm = [
            Node(opType: "Unsqueeze", inputs: ["x"], outputs: ["u"], attributes: [NamedAttribute("axes", .ints([1]))]),
            Node(opType: "Squeeze", inputs: ["u"], outputs: ["y"], attributes: [NamedAttribute("axes", .ints([1]))]),
        ]
        try GradientCheck.check(attributeForm, trainable: ["x": GradientCheck.values(6, seed: 89)], dims: ["x": [2, 3]], opset: 11)
    }
}
