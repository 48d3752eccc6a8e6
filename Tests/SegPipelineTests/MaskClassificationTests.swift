import Foundation
import SegGraph
import SegImaging
import SegPipeline
import SegReference
import SegTensor
import Testing

/// Mask-classification heads (class logits [1, Q, C+1], mask logits [1, Q, h, w]) through the
/// segmenter, on a hand-made model whose class map is worked out by hand.
@Suite struct MaskClassificationTests {
    /// x [1, 3, 2, 2] (pixels as they are: mean 0, std 1, scale 1). class_logits is a constant
    /// [1, 2, 3]: query 0 softmaxes to (0.8, 0.1 | 0.1 no-object), query 1 to (0.2, 0.6 | 0.2).
    /// mask_logits is x's R and G planes: query 0's mask is R, query 1's is G.
    static func model(declared: Bool, typedOutputs: Bool = true) throws -> Model {
        var g = Graph(name: "m2f")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [1, 3, 2, 2].map { .value($0) }))]
        let logits: [Float] = [log(8), 0, 0, 0, log(3), 0]
        g.initializers["starts"] = try Tensor(dims: [1], scalars: [Int64(0)])
        g.initializers["ends"] = try Tensor(dims: [1], scalars: [Int64(2)])
        g.initializers["axes"] = try Tensor(dims: [1], scalars: [Int64(1)])
        g.nodes = [
            Node(opType: "Constant", inputs: [], outputs: ["class_logits"],
                 attributes: [NamedAttribute("value", .tensor(try Tensor(dims: [1, 2, 3], scalars: logits)))]),
            Node(opType: "Slice", inputs: ["x", "starts", "ends", "axes"], outputs: ["mask_logits"]),
        ]
        g.outputs = [
            ValueInfo(name: "class_logits", type: typedOutputs ? TensorType(elementType: .f32, shape: [1, 2, 3].map { .value($0) }) : nil),
            ValueInfo(name: "mask_logits", type: typedOutputs ? TensorType(elementType: .f32, shape: [1, 2, 2, 2].map { .value($0) }) : nil),
        ]
        var m = Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
        m.metadata = ["segslim.mean": "[0, 0, 0]", "segslim.std": "[1, 1, 1]", "segslim.scale": "1"]
        if declared { m.metadata[MaskClassification.metadataKey] = MaskClassification.metadataValue }
        return m
    }

    static func segmenter(_ m: Model) throws -> Segmenter {
        let summary = ModelSummary(model: m, inference: try ShapeInference(model: m))
        let pre = try #require(try ImageModel.preprocessing(m, summary: summary))
        return try Segmenter(imageModel: m, runner: try ReferenceExecutor(model: m), preprocessing: pre, summary: summary)
    }

    /// Per pixel (R, G) with sigmoid(0) = 0.5, sigmoid(255) ≈ 1:
    ///   (255, 0):   c0 = 0.8·1 + 0.2·0.5 = 0.9,   c1 = 0.1·1 + 0.6·0.5 = 0.4   → 0
    ///   (0, 0):     c0 = 0.4 + 0.1 = 0.5,          c1 = 0.05 + 0.3 = 0.35       → 0
    ///   (255, 255): c0 = 0.8 + 0.2 = 1.0,          c1 = 0.1 + 0.6 = 0.7         → 0
    ///   (0, 255):   c0 = 0.4 + 0.2 = 0.6,          c1 = 0.05 + 0.6 = 0.65       → 1
    /// (Dropping no-object before the softmax would give query 1 (0.25, 0.75) and (0, 0) → 1.)
    @Test func semanticMapIsClassSoftmaxTimesMaskSigmoid() throws {
        for declared in [true, false] {
            let m = try Self.model(declared: declared)
            let s = try Self.segmenter(m)
            let head = try #require(s.maskClassification)
            #expect(head == MaskClassification(classLogits: "class_logits", maskLogits: "mask_logits", classes: 2, declared: declared))
            #expect(s.preprocessing.classes.count == 2)
            let image = try Image(width: 2, height: 2, channels: 3, pixels: [255, 0, 0, 0, 0, 0, 255, 255, 0, 0, 255, 0])
            let (mask, _) = try s.segment(image)
            #expect(mask.width == 2 && mask.height == 2 && mask.channels == 1)
            #expect(mask.pixels == [0, 0, 0, 1])
        }
    }

    /// The masks come back at the image's own size (the model's input is 2×2): a 7×5 image of
    /// one colour gives a 7×5 map of that colour's class.
    @Test func theMapHasTheImagesOwnSize() throws {
        let s = try Self.segmenter(try Self.model(declared: true))
        let green = try Image(width: 7, height: 5, channels: 3, pixels: Array(repeating: [0, 255, 0] as [UInt8], count: 35).flatMap { $0 })
        let (mask, _) = try s.segment(green)
        #expect(mask.width == 7 && mask.height == 5)
        #expect(mask.pixels == [UInt8](repeating: 1, count: 35))
        // Sliding windows average class scores, which this head does not produce.
        #expect(throws: PipelineError.self) { try s.segment(green, slide: .init(crop: (2, 2), stride: (1, 1))) }
    }

    @Test func recognisedByShapeOnlyWhenTheShapesFit() throws {
        // Declared output types absent: the inferred ones decide.
        let untyped = try Self.model(declared: false, typedOutputs: false)
        let summary = ModelSummary(model: untyped, inference: try ShapeInference(model: untyped))
        #expect(ImageModel.head(untyped, summary: summary)?.classes == 2)
        #expect(ImageModel.classCount(summary) == 2)
        // Queries that differ between the two outputs: not a head unless declared.
        let mismatched: [(name: String, shape: [SegGraph.Dimension]?)] = [("a", [.value(1), .value(3), .value(5)]), ("b", [.value(1), .value(4), .value(8), .value(8)])]
        let model = Model(graph: Graph(name: "g", outputs: mismatched.map { ValueInfo(name: $0.name, type: TensorType(elementType: .f32, shape: $0.shape)) }))
        #expect(MaskClassification.detect(model) == nil)
        var declared = model
        declared.metadata = [MaskClassification.metadataKey: MaskClassification.metadataValue]
        #expect(MaskClassification.detect(declared)?.classes == 4)
        // An ordinary [1, C, H, W] scores model is not one.
        let plain = Model(graph: Graph(name: "g", outputs: [ValueInfo(name: "s", type: TensorType(elementType: .f32, shape: [1, 11, 8, 8].map { .value($0) }))]))
        #expect(MaskClassification.detect(plain) == nil)
    }
}
