import Foundation
import SegGraph
import SegTensor

/// Writes a trainable segmentation network as an ONNX model (IR 8, ai.onnx opset 17,
/// BatchNormalization kept): input `image` (N×3×H×W float32, normalised RGB), output `out`
/// (N×classes×H×W logits, bilinearly upsampled to the input size as torchvision does).
package enum StudentBuilder {
    package static func build(_ spec: StudentSpec) throws(ArchitectureError) -> Model {
        try spec.validate()
        let builder = NetworkBuilder(seed: spec.seed, scheme: .kaimingFanOut)
        let image = Feature(name: "image", channels: 3)
        let features: BackboneFeatures
        switch spec.architecture {
        case .lrasppMobileNetV3Large, .deeplabV3MobileNetV3Large:
            features = MobileNetV3.features(builder, image, size: .large, width: spec.width, prefix: "backbone")
        case .lrasppMobileNetV3Small, .deeplabV3MobileNetV3Small:
            features = MobileNetV3.features(builder, image, size: .small, width: spec.width, prefix: "backbone")
        case .lrasppShuffleNetV2x05, .lrasppShuffleNetV2x10:
            builder.scheme = .pytorchDefault
            features = ShuffleNetV2.features(builder, image, width: spec.architecture == .lrasppShuffleNetV2x05 ? 0.5 : 1, prefix: "backbone")
        case .lrasppGhostNet:
            builder.scheme = .pytorchDefault
            features = GhostNet.features(builder, image, width: spec.width, prefix: "backbone")
        }
        builder.scheme = .pytorchDefault
        let logits: Feature
        switch spec.architecture {
        case .deeplabV3MobileNetV3Large, .deeplabV3MobileNetV3Small:
            logits = SegmentationHeads.deeplab(builder, features.high, classes: spec.classes)
        default:
            logits = SegmentationHeads.lraspp(builder, features, classes: spec.classes)
        }
        _ = builder.resizeBilinear(logits, like: image.name, "", output: "out")

        let dims: (SegGraph.Dimension, SegGraph.Dimension, SegGraph.Dimension) = switch spec.input {
        case .fixed(let h, let w): (.value(1), .value(h), .value(w))
        case .dynamic: (.param("N"), .param("H"), .param("W"))
        }
        let graph = Graph(
            name: spec.architecture.rawValue, nodes: builder.nodes,
            inputs: [ValueInfo(name: "image", type: TensorType(elementType: .f32, shape: [dims.0, .value(3), dims.1, dims.2]))],
            outputs: [ValueInfo(name: "out", type: TensorType(elementType: .f32, shape: [dims.0, .value(spec.classes), dims.1, dims.2]))],
            initializers: builder.initializers)
        var metadata = spec.metadata
        metadata["segslim.architecture"] = spec.architecture.rawValue
        metadata["segslim.width"] = "\(spec.width)"
        metadata["segslim.seed"] = "\(spec.seed)"
        return Model(graph: graph, irVersion: 8, opsetImports: [OpsetImport(domain: "", version: 17)], producerName: "segslim",
                     docString: "\(spec.architecture.summary); \(spec.classes) classes, width \(spec.width), seed \(spec.seed), untrained",
                     metadata: metadata)
    }
}
