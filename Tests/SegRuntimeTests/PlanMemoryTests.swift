import SegGraph
import SegKernels
import SegRuntime
import SegTensor
import Testing

/// What a compiled plan keeps resident, against sizes worked out by hand from the graph.
@Suite struct PlanMemoryTests {
    /// x [1, 4, 8, 8] → Conv 1×1 (w [8, 4, 1, 1], b [8]) → y [1, 8, 8, 8].
    static func pointwise() throws -> Model {
        var g = Graph(name: "pw")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [1, 4, 8, 8].map { .value($0) }))]
        g.initializers["w"] = try Tensor(dims: [8, 4, 1, 1], scalars: (0..<32).map { Float($0) / 32 })
        g.initializers["b"] = try Tensor(dims: [8], scalars: [Float](repeating: 0.5, count: 8))
        g.nodes = [Node(opType: "Conv", inputs: ["x", "w", "b"], outputs: ["y"], attributes: [NamedAttribute("kernel_shape", .ints([1, 1]))])]
        g.outputs = [ValueInfo(name: "y")]
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
    }

    @Test func aPlanIsChargedItsPackedWeightsAndItsArena() throws {
        let plan = try Compiler().compile(try Self.pointwise(), inputShapes: ["x": [1, 4, 8, 8]])
        #expect(plan.kernelCounts["Conv"] == 1, "\(plan.kernelCounts)")
        // Input (256 floats) and output (512) are both live while the conv runs.
        #expect(plan.arenaBytes == (256 + 512) * 4)
        // The 8×4 weights packed as a GEMM A operand: 8 rows padded to panels of 6 → 12 × 4
        // floats; the 8 biases; and, when the direct pointwise path is on, one input offset
        // per input channel. On a CPU with AVX-512 the conv keeps the raw 8 × 4 weights for
        // its pointwise kernel instead of the packed ones.
        let packed = (KernelISA.hasVNNI ? 8 : 12) * 4 * 4, bias = 8 * 4, offsets = 4 * MemoryLayout<Int>.size
        #expect(plan.weightBytes == packed + bias || plan.weightBytes == packed + bias + offsets, "\(plan.weightBytes)")
        #expect(plan.residentBytes == plan.weightBytes + (256 + 512) * 4)
    }
}
