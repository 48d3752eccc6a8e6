import SegGraph
import SegReference
import SegRuntime
import SegTensor
import Testing

/// ConvTranspose nodes through the compiled runtime: the fast step (with a fused Relu) where
/// the weights are constant and the attributes are understood, the reference fallback
/// otherwise, and the reference executor's numbers either way.
@Suite struct ConvTransposeRuntimeTests {
    static func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { i in Float((i * 37 + seed * 11) % 101) / 50 - 1 }
    }

    /// x [2, 4, 5, 6] → ConvTranspose(weights [4, 3, k, k]) [→ Relu].
    static func model(_ attributes: [NamedAttribute], kernel: Int = 3, relu: Bool, constantWeights: Bool = true) throws -> Model {
        var g = Graph(name: "ct")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [2, 4, 5, 6].map { .value($0) }))]
        let w = try Tensor(dims: [4, 3, kernel, kernel], scalars: values(4 * 3 * kernel * kernel, seed: 3))
        if constantWeights {
            g.initializers["w"] = w
        } else {
            g.inputs.append(ValueInfo(name: "w", type: TensorType(elementType: .f32, shape: w.dims.map { .value($0) })))
        }
        g.initializers["b"] = try Tensor(dims: [3], scalars: [0.1, -0.2, 0.3] as [Float])
        g.nodes = [Node(opType: "ConvTranspose", inputs: ["x", "w", "b"], outputs: ["t"], attributes: attributes)]
        if relu { g.nodes.append(Node(opType: "Relu", inputs: ["t"], outputs: ["y"])) }
        g.outputs = [ValueInfo(name: relu ? "y" : "t")]
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
    }

    func check(_ m: Model, expectKind: String, extraInputs: [String: Tensor] = [:]) throws {
        var inputs = extraInputs
        inputs["x"] = try Tensor(dims: [2, 4, 5, 6], scalars: Self.values(2 * 4 * 5 * 6, seed: 1))
        let expected = try ReferenceExecutor(model: m).run(inputs)
        let compiled = try Compiler().compile(m, inputShapes: inputs.mapValues(\.dims))
        #expect(compiled.kernelCounts[expectKind] != nil, "\(expectKind) missing from \(compiled.kernelCounts)")
        let actual = try compiled.run(inputs)
        for (name, e) in expected {
            let a = try #require(actual[name])
            #expect(a.dims == e.dims)
            let av = try a.scalars(as: Float.self), ev = try e.scalars(as: Float.self)
            let worst = zip(av, ev).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
            #expect(worst < 1e-5, "\(name): worst relative error \(worst)")
        }
    }

    static let attributeSets: [[NamedAttribute]] = [
        [NamedAttribute("strides", .ints([2, 2])), NamedAttribute("pads", .ints([1, 1, 1, 1]))],
        [NamedAttribute("strides", .ints([2, 2])), NamedAttribute("output_padding", .ints([1, 1]))],
        [NamedAttribute("strides", .ints([2, 3])), NamedAttribute("auto_pad", .string("SAME_UPPER"))],
        [NamedAttribute("strides", .ints([2, 2])), NamedAttribute("auto_pad", .string("SAME_LOWER"))],
        [NamedAttribute("strides", .ints([3, 2])), NamedAttribute("output_shape", .ints([15, 13]))],
        [NamedAttribute("dilations", .ints([2, 2])), NamedAttribute("pads", .ints([0, 1, 2, 0]))],
    ]

    @Test(arguments: attributeSets.indices, [false, true])
    func fastStepMatchesTheReference(_ index: Int, relu: Bool) throws {
        try check(try Self.model(Self.attributeSets[index], relu: relu), expectKind: relu ? "ConvTranspose+act" : "ConvTranspose")
    }

    @Test func weightsComputedAtRunTimeFallBack() throws {
        let m = try Self.model(Self.attributeSets[0], relu: false, constantWeights: false)
        let w = try Tensor(dims: [4, 3, 3, 3], scalars: Self.values(4 * 3 * 9, seed: 3))
        try check(m, expectKind: "ConvTranspose (reference)", extraInputs: ["w": w])
    }

    @Test func malformedAttributesFallBack() throws {
        // Three strides for a 2-D input: the fast path declines and the reference reports it.
        let m = try Self.model([NamedAttribute("strides", .ints([2, 2, 2]))], relu: false)
        // (Was `try?` and an optional check, which passed whether or not anything was reported.)
        do {
            let compiled = try Compiler().compile(m, inputShapes: ["x": [2, 4, 5, 6]])
            Issue.record("a 3-stride ConvTranspose on a 2-D input compiled: \(compiled.kernelCounts)")
        } catch let error as ExecutionError {
            #expect("\(error)".contains("ConvTranspose") && "\(error)".contains("'strides'"), "\(error)")
        }
    }
}
