import Foundation
import SegArchitectures
import SegGraph
import Testing

/// Initial weights follow the distributions torchvision's code draws from.
@Suite struct InitializationTests {
    static func stats(_ values: [Float]) -> (mean: Double, std: Double) {
        let n = Double(values.count)
        let mean = values.reduce(0) { $0 + Double($1) } / n
        let variance = values.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return (mean, variance.squareRoot())
    }

    @Test func mobileNetBackboneIsKaimingFanOutAndHeadIsPyTorchDefault() throws {
        let model = try StudentBuilder.build(StudentSpec(architecture: .lrasppMobileNetV3Large, classes: 11,
                                                         input: .fixed(height: 64, width: 64), seed: 5))
        var checked = 0
        for (name, t) in model.graph.initializers where t.dims.count == 4 && t.elementCount >= 2000 {
            let (mean, deviation) = Self.stats(try t.scalars(as: Float.self))
            let fanOut = Double(t.dims[0] * t.dims[2] * t.dims[3]), fanIn = Double(t.dims[1] * t.dims[2] * t.dims[3])
            // N(0, √(2/fan_out)) in the backbone; U(±1/√fan_in), std 1/√(3·fan_in), in the head.
            let expected = name.hasPrefix("backbone.") ? (2 / fanOut).squareRoot() : 1 / (3 * fanIn).squareRoot()
            #expect(abs(deviation / expected - 1) < 0.1, "\(name): std \(deviation), expected \(expected)")
            #expect(abs(mean) < 0.1 * expected, "\(name): mean \(mean)")
            checked += 1
        }
        #expect(checked > 40)
        let bn = try #require(model.graph.initializers["backbone.0.1.weight"]).scalars(as: Float.self)
        #expect(bn.allSatisfy { $0 == 1 })
        #expect(try #require(model.graph.initializers["backbone.0.1.running_var"]).scalars(as: Float.self).allSatisfy { $0 == 1 })
        #expect(try #require(model.graph.initializers["backbone.4.block.2.fc1.bias"]).scalars(as: Float.self).allSatisfy { $0 == 0 })
        // PyTorch's default bias is U(±1/√fan_in): not zero, inside the bound.
        let bias = try #require(model.graph.initializers["classifier.high_classifier.bias"]).scalars(as: Float.self)
        #expect(bias.contains { $0 != 0 } && bias.allSatisfy { abs($0) <= 1 / Float(128).squareRoot() })
    }

    @Test func shuffleNetIsPyTorchDefaultUniform() throws {
        let model = try StudentBuilder.build(StudentSpec(architecture: .lrasppShuffleNetV2x10, classes: 11, input: .fixed(height: 64, width: 64)))
        let w = try #require(model.graph.initializers["backbone.conv5.0.weight"])
        let values = try w.scalars(as: Float.self)
        let bound = 1 / Float(w.dims[1]).squareRoot()
        #expect(values.allSatisfy { abs($0) <= bound })
        #expect(abs(Self.stats(values).std / Double(bound / Float(3).squareRoot()) - 1) < 0.05)
    }
}
