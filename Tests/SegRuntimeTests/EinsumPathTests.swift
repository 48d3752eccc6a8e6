import SegGraph
import SegReference
import SegRuntime
import SegTensor
import Testing

/// Einsum as a batched matrix product on the runtime, against the reference executor.
@Suite struct EinsumPathTests {
    static func run(_ equation: String, _ a: [Int], _ b: [Int], constantB: Bool) throws -> (Float, [String: Int]) {
        let x = try Tensor(dims: a, scalars: (0..<a.reduce(1, *)).map { Float(($0 * 37) % 23) / 11 - 1 })
        let y = try Tensor(dims: b, scalars: (0..<b.reduce(1, *)).map { Float(($0 * 29) % 19) / 9 - 1 })
        var g = Graph(name: "e")
        g.inputs = [ValueInfo(name: "a", type: TensorType(elementType: .f32, shape: a.map { .value($0) }))]
        if constantB { g.initializers["b"] = y } else {
            g.inputs.append(ValueInfo(name: "b", type: TensorType(elementType: .f32, shape: b.map { .value($0) })))
        }
        g.nodes = [Node(opType: "Einsum", inputs: ["a", "b"], outputs: ["y"], attributes: [NamedAttribute("equation", .string(equation))])]
        g.outputs = [ValueInfo(name: "y")]
        let m = Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 12)])
        let inputs = constantB ? ["a": x] : ["a": x, "b": y]
        let expected = try ReferenceExecutor(model: m).run(inputs)["y"]!
        let compiled = try Compiler().compile(m, inputShapes: inputs.mapValues(\.dims))
        let actual = try compiled.run(inputs)["y"]!
        #expect(actual.dims == expected.dims)
        let worst = zip(try actual.scalars(as: Float.self), try expected.scalars(as: Float.self)).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
        return (worst, compiled.kernelCounts)
    }

    @Test(arguments: [("bqc, bchw -> bqhw", [2, 5, 7], [2, 7, 3, 4]), ("ij,jk->ik", [3, 4], [4, 6]),
                      ("bhqd,bhkd->bhqk", [1, 2, 3, 4], [1, 2, 4, 4]), ("abc,cde->abde", [2, 3, 4], [4, 2, 5])])
    func matrixProductsTakeTheKernel(_ equation: String, _ a: [Int], _ b: [Int]) throws {
        for constantB in [false, true] {
            let (worst, kinds) = try Self.run(equation, a, b, constantB: constantB)
            #expect(worst < 1e-5, "\(equation): \(worst)")
            // bhqd,bhkd->bhqk contracts d last in both operands (B is not batch·K·N): reference.
            let fast = !equation.hasPrefix("bhqd")
            #expect(kinds[fast ? "Einsum (MatMul)" : "Einsum (reference)"] == 1, "\(equation): \(kinds)")
        }
    }
}
