import SegArchitectures
import SegGraph
import Testing

/// Backbone sizes against published numbers: torchvision's model-zoo parameter counts of the
/// ImageNet classifiers, less the classifier layers we leave out (computed by hand below).
@Suite struct ParameterCountTests {
    /// Trainable parameters (BatchNorm statistics excluded) under `backbone.`.
    static func backbone(_ arch: Architecture, width: Double = 1) throws -> Int {
        let model = try StudentBuilder.build(StudentSpec(architecture: arch, classes: 11, width: width, input: .fixed(height: 64, width: 64)))
        return model.graph.initializers.filter {
            $0.name.hasPrefix("backbone.") && !$0.name.hasSuffix("running_mean") && !$0.name.hasSuffix("running_var")
        }.reduce(0) { $0 + $1.tensor.elementCount }
    }

    @Test func mobileNetV3() throws {
        // mobilenet_v3_large: 5,483,032 − Linear(960, 1280) − Linear(1280, 1000).
        #expect(try Self.backbone(.lrasppMobileNetV3Large) == 5_483_032 - (960 * 1280 + 1280) - (1280 * 1000 + 1000))
        // mobilenet_v3_small: 2,542,856 − Linear(576, 1024) − Linear(1024, 1000).
        #expect(try Self.backbone(.lrasppMobileNetV3Small) == 2_542_856 - (576 * 1024 + 1024) - (1024 * 1000 + 1000))
        #expect(try Self.backbone(.deeplabV3MobileNetV3Small) == 2_542_856 - (576 * 1024 + 1024) - (1024 * 1000 + 1000))
    }

    @Test func shuffleNetV2() throws {
        // shufflenet_v2_x0_5: 1,366,792 and x1_0: 2,278,604, less fc = Linear(1024, 1000).
        #expect(try Self.backbone(.lrasppShuffleNetV2x05) == 1_366_792 - (1024 * 1000 + 1000))
        #expect(try Self.backbone(.lrasppShuffleNetV2x10) == 2_278_604 - (1024 * 1000 + 1000))
    }

    @Test func ghostNet() throws {
        // GhostNet 1.0×: 5.18 M (timm ghostnet_100; the paper rounds to 5.2 M) with its tail:
        // conv_head 960→1280 (bias) and classifier Linear(1280, 1000).
        let total = try Self.backbone(.lrasppGhostNet) + (960 * 1280 + 1280) + (1280 * 1000 + 1000)
        #expect(abs(total - 5_180_000) < 5_000, "\(total)")
    }

    @Test func lrasppHeadIsTorchvisionsSize() throws {
        // cbr conv high→128 (no bias) + BN(128) γβ, scale conv high→128, low/high classifiers with bias.
        let model = try StudentBuilder.build(StudentSpec(architecture: .lrasppMobileNetV3Small, classes: 11, input: .fixed(height: 64, width: 64)))
        let head = model.graph.initializers.filter { $0.name.hasPrefix("classifier.") && !$0.name.contains("running") }
            .reduce(0) { $0 + $1.tensor.elementCount }
        #expect(head == 576 * 128 + 2 * 128 + 576 * 128 + (24 * 11 + 11) + (128 * 11 + 11))
    }
}
