import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// A model traced at 1×3×8×8 with its Resize targets baked in (as torch's exporter writes a
/// static LRASPP) trains at other batch and crop sizes: the targets follow the tensors they
/// were traced from (a stride-2 feature map, the input image).
@Suite struct FixedSizeExportTests {
    static func model() throws -> Model {
        var g = Graph(name: "static")
        g.inputs = [ValueInfo(name: "image", type: TensorType(elementType: .f32, shape: [.value(1), .value(3), .value(8), .value(8)]))]
        g.initializers["w1"] = try Tensor(dims: [4, 3, 3, 3], scalars: GradientCheck.values(108, seed: 1))
        g.initializers["w2"] = try Tensor(dims: [4, 4, 3, 3], scalars: GradientCheck.values(144, seed: 2))
        g.initializers["mid"] = try Tensor(dims: [4], scalars: [Int64(1), 4, 4, 4])
        g.initializers["full"] = try Tensor(dims: [4], scalars: [Int64(1), 4, 8, 8])
        let stride2 = [NamedAttribute("strides", .ints([2, 2])), NamedAttribute("pads", .ints([1, 1, 1, 1]))]
        g.nodes = [
            Node(opType: "Conv", inputs: ["image", "w1"], outputs: ["low"], attributes: stride2),       // 4×4
            Node(opType: "Conv", inputs: ["low", "w2"], outputs: ["high"], attributes: stride2),        // 2×2
            Node(opType: "Resize", inputs: ["high", "", "", "mid"], outputs: ["up"], attributes: [NamedAttribute("mode", .string("linear"))]),
            Node(opType: "Add", inputs: ["up", "low"], outputs: ["sum"]),
            Node(opType: "Resize", inputs: ["sum", "", "", "full"], outputs: ["out"], attributes: [NamedAttribute("mode", .string("linear"))]),
        ]
        g.outputs = [ValueInfo(name: "out")]
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
    }

    @Test func trainsAtOtherBatchAndCropSizes() throws {
        let m = try Self.model()
        let program = try TrainingProgram(model: m, inputShapes: ["image": [2, 3, 16, 12]], trainable: ["w1", "w2"])
        let x = FloatTensor(dims: [2, 3, 16, 12], scalars: GradientCheck.values(2 * 3 * 16 * 12, seed: 3))
        let parameters = ["w1": try FloatTensor(m.graph.initializers["w1"]!, name: "w1"), "w2": try FloatTensor(m.graph.initializers["w2"]!, name: "w2")]
        let y = try #require(program.forward(inputs: ["image": x], parameters: parameters).outputs["out"])
        #expect(y.dims == [2, 4, 16, 12])
        let grads = try program.backward(outputGradients: ["out": FloatTensor(repeating: 1, dims: y.dims)])
        #expect(grads["w1"]?.dims == [4, 3, 3, 3] && grads["w2"]?.dims == [4, 4, 3, 3])
        // At the declared shape nothing is rewritten: the same program as before.
        let declared = try TrainingProgram(model: m, inputShapes: ["image": [1, 3, 8, 8]], trainable: ["w1", "w2"])
        #expect(declared.stepOpTypes == ["Conv", "Conv", "Resize", "Add", "Resize"])
    }
}
