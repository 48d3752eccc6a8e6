import Foundation
import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// ReduceMean, Softmax, LogSoftmax and LayerNormalization against finite differences, and the
/// opset-dependent attribute forms against values worked out independently.
@Suite struct NormalizationGradientTests {
    static func forward(_ node: Node, x: [Float], dims: [Int], constants: [String: Tensor] = [:], opset: Int = 17) throws -> FloatTensor {
        var initializers = constants
        initializers["x"] = try Tensor(dims: dims, scalars: x)
        let model = GradientCheck.model([node], initializers: initializers, output: "y", opset: opset)
        let program = try TrainingProgram(model: model, inputShapes: [:], trainable: ["x"])
        return try #require(program.forward(inputs: [:], parameters: ["x": FloatTensor(dims: dims, scalars: x)]).outputs["y"])
    }

    struct Reduce: CustomStringConvertible, Sendable {
        var axes: [Int]?
        var keepdims: Int
        var opset: Int
        var expected: [Int]
        var description: String { "axes \(axes.map(\.description) ?? "none") keepdims \(keepdims) opset \(opset)" }
    }

    @Test(arguments: [
        Reduce(axes: [2, 3], keepdims: 1, opset: 13, expected: [2, 3, 1, 1]),
        Reduce(axes: [1], keepdims: 0, opset: 13, expected: [2, 4, 5]),
        Reduce(axes: [-1, 0], keepdims: 0, opset: 13, expected: [3, 4]),
        Reduce(axes: nil, keepdims: 1, opset: 13, expected: [1, 1, 1, 1]),
        Reduce(axes: [2, 3], keepdims: 1, opset: 18, expected: [2, 3, 1, 1]),
        Reduce(axes: [1, 3], keepdims: 0, opset: 18, expected: [2, 4]),
        Reduce(axes: nil, keepdims: 0, opset: 18, expected: []),
    ])
    func reduceMean(_ r: Reduce) throws {
        var attributes = [NamedAttribute("keepdims", .int(r.keepdims))]
        var inputs = ["x"], constants: [String: Tensor] = [:]
        if let axes = r.axes {
            if r.opset >= 18 {
                inputs.append("axes")
                constants["axes"] = try Tensor(dims: [axes.count], scalars: axes.map { Int64($0) })
            } else {
                attributes.append(NamedAttribute("axes", .ints(axes)))
            }
        }
        let node = Node(opType: "ReduceMean", inputs: inputs, outputs: ["y"], attributes: attributes)
        let dims = [2, 3, 4, 5]
        let x = GradientCheck.values(120, seed: 61)
        #expect(try Self.forward(node, x: x, dims: dims, constants: constants, opset: r.opset).dims == r.expected)
        try GradientCheck.check([node], trainable: ["x": x], dims: ["x": dims], constants: constants, opset: r.opset)
    }

    /// Reference values of ReduceMean over H and W, and the opset-18 no-op for empty axes.
    @Test func reduceMeanValues() throws {
        let x: [Float] = (0..<12).map(Float.init)
        let node = Node(opType: "ReduceMean", inputs: ["x"], outputs: ["y"], attributes: [NamedAttribute("axes", .ints([1]))])
        #expect(try Self.forward(node, x: x, dims: [3, 4], opset: 13).scalars == [1.5, 5.5, 9.5])
        let noop = Node(opType: "ReduceMean", inputs: ["x"], outputs: ["y"], attributes: [NamedAttribute("noop_with_empty_axes", .int(1))])
        #expect(try Self.forward(noop, x: x, dims: [3, 4], opset: 18).scalars == x)
    }

    @Test(arguments: [("Softmax", 13, -1), ("Softmax", 13, 1), ("Softmax", 11, 1), ("Softmax", 11, 2), ("Softmax", 1, 0),
                      ("LogSoftmax", 13, 1), ("LogSoftmax", 13, -1), ("LogSoftmax", 11, 1)])
    func softmax(_ op: String, _ opset: Int, _ axis: Int) throws {
        let node = Node(opType: op, inputs: ["x"], outputs: ["y"], attributes: [NamedAttribute("axis", .int(axis))])
        try GradientCheck.check([node], trainable: ["x": GradientCheck.values(2 * 3 * 4, seed: 62, range: -2...2)], dims: ["x": [2, 3, 4]],
                                opset: opset)
    }

    /// Opset 13 normalises along the axis alone; before 13 over everything from the axis on.
    @Test func softmaxAxisSemanticsByOpset() throws {
        let x = GradientCheck.values(2 * 3 * 4, seed: 63)
        let node = Node(opType: "Softmax", inputs: ["x"], outputs: ["y"], attributes: [NamedAttribute("axis", .int(1))])
        let single = try Self.forward(node, x: x, dims: [2, 3, 4], opset: 13).scalars
        let coerced = try Self.forward(node, x: x, dims: [2, 3, 4], opset: 11).scalars
        for n in 0..<2 {
            let row = (0..<12).map { Double(x[n * 12 + $0]) }
            let total = row.reduce(0) { $0 + exp($1) }
            for i in 0..<12 { #expect(abs(Double(coerced[n * 12 + i]) - exp(row[i]) / total) < 1e-6) }
            for w in 0..<4 {
                let column = (0..<3).map { row[$0 * 4 + w] }
                let sum = column.reduce(0) { $0 + exp($1) }
                for c in 0..<3 { #expect(abs(Double(single[n * 12 + c * 4 + w]) - exp(column[c]) / sum) < 1e-6) }
            }
        }
    }

    @Test(arguments: [(-1, true), (1, true), (2, false), (0, true)])
    func layerNormalization(_ axis: Int, _ bias: Bool) throws {
        let dims = [2, 3, 4]
        let row = Array(dims[(axis < 0 ? axis + 3 : axis)...])
        let count = row.reduce(1, *)
        var inputs = ["x", "g"]
        var trainable: [String: [Float]] = ["x": GradientCheck.values(24, seed: 64, range: -2...2),
                                            "g": GradientCheck.values(count, seed: 65, range: 0.5...1.5)]
        var shapes: [String: [Int]] = ["x": dims, "g": row]
        if bias { inputs.append("b"); trainable["b"] = GradientCheck.values(count, seed: 66); shapes["b"] = row }
        let node = Node(opType: "LayerNormalization", inputs: inputs, outputs: ["y"],
                        attributes: [NamedAttribute("axis", .int(axis)), NamedAttribute("epsilon", .float(1e-3))])
        try GradientCheck.check([node], trainable: trainable, dims: shapes, epsilon: 3e-3)
    }

    /// A [1, C] scale against rows of C (leading unit axes allowed), and the forward against
    /// the formula in Double.
    @Test func layerNormalizationValues() throws {
        let x: [Float] = [1, 2, 4, -1, 0, 7]
        let node = Node(opType: "LayerNormalization", inputs: ["x", "g", "b"], outputs: ["y"])
        let y = try Self.forward(node, x: x, dims: [2, 3], constants: [
            "g": try Tensor(dims: [1, 3], scalars: [1, 2, 3] as [Float]), "b": try Tensor(dims: [3], scalars: [0, 1, 0] as [Float])])
        for r in 0..<2 {
            let v = (0..<3).map { Double(x[r * 3 + $0]) }
            let m = v.reduce(0, +) / 3
            let s = 1 / ((v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 3) + 1e-5).squareRoot()
            let expected = [(v[0] - m) * s, (v[1] - m) * s * 2 + 1, (v[2] - m) * s * 3]
            for i in 0..<3 { #expect(abs(Double(y.scalars[r * 3 + i]) - expected[i]) < 1e-5) }
        }
    }

    @Test func layerNormalizationRefusesPerRowScale() throws {
        let node = Node(opType: "LayerNormalization", inputs: ["x", "g"], outputs: ["y"])
        let model = GradientCheck.model([node], initializers: ["x": try Tensor(dims: [2, 3], scalars: [Float](repeating: 1, count: 6)),
                                                               "g": try Tensor(dims: [2, 1], scalars: [1, 1] as [Float])], output: "y")
        expectRefusal(model, mentioning: "Scale")
    }
}
