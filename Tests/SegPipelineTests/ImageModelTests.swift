import SegGraph
import SegPipeline
import SegReference
import SegTensor
import Testing

/// Which models segment images, and why the others do not.
@Suite struct ImageModelTests {
    /// One Identity per input, onto as many outputs; `inputs` as (dtype, dims).
    static func model(_ inputs: [(DType, [Dimension])], metadata: [String: String] = [:]) throws -> (Model, ModelSummary) {
        var g = Graph(name: "m")
        g.inputs = inputs.enumerated().map { i, t in ValueInfo(name: "x\(i)", type: TensorType(elementType: t.0, shape: t.1)) }
        g.nodes = inputs.indices.map { Node(opType: "Identity", inputs: ["x\($0)"], outputs: ["y\($0)"]) }
        g.outputs = inputs.indices.map { ValueInfo(name: "y\($0)") }
        var m = Model(graph: g)
        m.metadata = metadata
        return (m, ModelSummary(model: m, inference: try ShapeInference(model: m)))
    }

    static let nchw: [Dimension] = [.value(1), .value(3), .param("h"), .param("w")]

    @Test func aSingleFourDimensionalFloatInputIsAnImageModel() throws {
        // Identity: the output is [1, 3, h, w] (inferred), so 3 classes.
        let (m, s) = try Self.model([(.f32, Self.nchw)])
        #expect(ImageModel.inputProblem(s) == nil)
        #expect(ImageModel.classCount(s) == 3)
        let pre = try #require(try ImageModel.preprocessing(m, summary: s))
        #expect(pre.inputName == "x0" && pre.classes == ["class 0", "class 1", "class 2"])
        let segmenter = try Segmenter(imageModel: m, runner: try ReferenceExecutor(model: m), preprocessing: pre)
        #expect(segmenter.outputName == "y0")
    }

    @Test func otherModelsSayWhy() throws {
        let two = try Self.model([(.f32, Self.nchw), (.f32, Self.nchw)]).1
        #expect(ImageModel.inputProblem(two) == "it has 2 runtime inputs, not one")
        let flat = try Self.model([(.f32, [.value(1), .param("n"), .value(4)])]).1
        #expect(ImageModel.inputProblem(flat) == "its input 'x0' has rank 3, not rank 4")
        let ints = try Self.model([(.i64, Self.nchw)])
        #expect(ImageModel.inputProblem(ints.1) == "its input 'x0' is i64, not float")
        #expect(try ImageModel.preprocessing(ints.0, summary: ints.1) == nil)
        // No preprocessing: no segmenter, with the requirement as the reason.
        #expect(throws: PipelineError.model(ImageModel.requirement)) {
            try Segmenter(imageModel: ints.0, runner: try ReferenceExecutor(model: ints.0), preprocessing: nil)
        }
    }

    @Test func invalidMetadataOfAnImageModelIsAnError() throws {
        let (m, s) = try Self.model([(.f32, [.value(1), .param("c"), .param("h"), .param("w")])], metadata: ["segslim.input_size": "0,0"])
        #expect(throws: PipelineError.self) { try ImageModel.preprocessing(m, summary: s) }
        // The output's class dim is not known: the count is left to the metadata.
        #expect(ImageModel.classCount(s) == nil)
    }
}
