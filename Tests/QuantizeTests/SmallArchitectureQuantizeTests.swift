@testable import Quantize
import Foundation
import SegGraph
import SegONNX
import SegRuntime
import SegServer
import SegTechnique
import SegTensor
import Testing

/// The Quantize technique on the small LR-ASPP-shaped network of SegRuntimeTests' fixtures
/// (tools/fixtures/make_small_lraspp.py): every conv quantized, the result running on the INT8
/// plan without fallback, and its masks close to ONNX Runtime's FP32 masks for the same input.
@Suite struct SmallArchitectureQuantizeTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SegRuntimeTests/Fixtures")

    static func argmax(_ s: [Float], classes: Int) -> [Int] {
        let plane = s.count / classes
        return (0..<plane).map { p in (0..<classes).max { s[$0 * plane + p] < s[$1 * plane + p] } ?? 0 }
    }

    @Test func quantizedModelRunsOnInt8AndKeepsTheMasks() async throws {
        let model = try ONNX.load(contentsOf: Self.folder.appendingPathComponent("small_lraspp.onnx"))
        let x = try Tensor(contentsOfNPY: Self.folder.appendingPathComponent("small_lraspp.input.npy"))
        let fp32 = try Tensor(contentsOfNPY: Self.folder.appendingPathComponent("small_lraspp.output.npy")).scalars(as: Float.self)
        var rng = SeededGenerator(seed: 64)
        let calibration = (0..<4).map { _ in ["image": QuantizeFixtures.random([1, 3, 64, 64], &rng, scale: 2)] }
        let samples = SampleSource(count: calibration.count, origin: "4 random inputs") { calibration[$0] }
        let result = try await QuantizeTechnique(parameters: [:]).apply(to: model, in: TechniqueContext(samples: samples, runner: TechniqueRunner(threads: nil)))
        let ops = result.model.graph.opCounts
        #expect(ops["Conv"] == 12 && (ops["QuantizeLinear"] ?? 0) > 0 && (ops["DequantizeLinear"] ?? 0) > 0, "\(ops)")
        let compiled = try Compiler(int8: true, options: .standard).compile(result.model, inputShapes: ["image": x.dims])
        let counts = compiled.kernelCounts
        #expect(counts.filter { $0.key.hasPrefix("QConv") }.values.reduce(0, +) == 12, "\(counts)")
        #expect(!counts.keys.contains { $0.contains("reference") }, "\(counts)")
        let y = try #require(try compiled.run(["image": x])["out"]).scalars(as: Float.self)
        let differ = zip(Self.argmax(y, classes: 3), Self.argmax(fp32, classes: 3)).filter { $0 != $1 }.count
        // Random weights make a harsh case (no trained margins between classes): 185 of 4,096
        // pixels change when written, where ORT's own quantize_static export of the same net
        // changes 96 (small_lraspp.qdq.output.npy). A quantizer that broke a layer would
        // change most of them.
        let ort = try Tensor(contentsOfNPY: Self.folder.appendingPathComponent("small_lraspp.qdq.output.npy")).scalars(as: Float.self)
        let ortDiffer = zip(Self.argmax(ort, classes: 3), Self.argmax(fp32, classes: 3)).filter { $0 != $1 }.count
        #expect(ortDiffer == 96)
        #expect(differ * 20 <= 4096, "\(differ) of 4,096 mask pixels differ from ORT's FP32 masks (ORT's own QDQ export: \(ortDiffer))")
    }
}
