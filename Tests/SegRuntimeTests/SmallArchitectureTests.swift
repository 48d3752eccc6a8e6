import Foundation
import SegGraph
import SegONNX
import SegReference
import SegRuntime
import SegTensor
import Testing

/// A small LR-ASPP-shaped network (MobileNetV3 stem, squeeze-excite, dilated inverted
/// residual, the LR-ASPP head with its two bilinear Resizes) at 64×64, written with ONNX
/// Runtime's outputs for it and for its QDQ export by tools/fixtures/make_small_lraspp.py:
/// the whole architecture through the compiled runtime (FP32 and the INT8 plan) and the
/// reference executor, against ORT, not against ourselves.
@Suite struct SmallArchitectureTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func load(_ file: String) throws -> Model { try ONNX.load(contentsOf: folder.appendingPathComponent(file)) }
    static func npy(_ file: String) throws -> Tensor { try Tensor(contentsOfNPY: folder.appendingPathComponent(file)) }

    /// Class per pixel (first maximum), [classes, plane] scores.
    static func argmax(_ s: [Float], classes: Int) -> [Int] {
        let plane = s.count / classes
        return (0..<plane).map { p in (0..<classes).max { s[$0 * plane + p] < s[$1 * plane + p] } ?? 0 }
    }

    @Test func fp32MatchesOnnxRuntime() throws {
        let model = try Self.load("small_lraspp.onnx")
        #expect(model.graph.opCounts == ["Conv": 12, "Relu": 3, "HardSwish": 3, "HardSigmoid": 1, "Sigmoid": 1, "Mul": 2, "Add": 2,
                                         "GlobalAveragePool": 2, "Resize": 2])
        let x = try Self.npy("small_lraspp.input.npy")
        let expected = try Self.npy("small_lraspp.output.npy").scalars(as: Float.self)
        let compiled = try Compiler(options: .standard).compile(model, inputShapes: ["image": x.dims])
        #expect(!compiled.kernelCounts.keys.contains { $0.contains("reference") }, "\(compiled.kernelCounts)")
        for (label, run) in [("runtime", { try compiled.run(["image": x]) }), ("reference", { try ReferenceExecutor(model: model).run(["image": x]) })] {
            let actual = try #require(try run()["out"], "\(label)").scalars(as: Float.self)
            #expect(actual.count == expected.count)
            let bad = zip(actual, expected).filter { !(abs($0 - $1) <= 1e-4 + 1e-4 * abs($1)) }.count
            #expect(bad == 0, "\(label): \(bad) of \(expected.count) scores differ from ORT")
            #expect(Self.argmax(actual, classes: 3) == Self.argmax(expected, classes: 3), "\(label): masks differ")
        }
    }

    @Test func int8PlanMatchesOnnxRuntimeOnTheQDQExport() throws {
        let model = try Self.load("small_lraspp.qdq.onnx")
        let x = try Self.npy("small_lraspp.input.npy")
        let expected = try Self.npy("small_lraspp.qdq.output.npy").scalars(as: Float.self)
        // The output's quantization step: the scale of the DequantizeLinear that writes it.
        let dq = try #require(model.graph.nodes.first { $0.opType == "DequantizeLinear" && $0.outputs == ["out"] })
        let step = try #require(model.graph.initializers[dq.inputs[1]]).scalars(as: Float.self)[0]
        let compiled = try Compiler(int8: true, options: .standard).compile(model, inputShapes: ["image": x.dims])
        let counts = compiled.kernelCounts
        #expect(counts.filter { $0.key.hasPrefix("QConv") }.values.reduce(0, +) == 12, "\(counts)")
        #expect(!counts.keys.contains { $0.contains("reference") }, "\(counts)")
        let actual = try #require(try compiled.run(["image": x])["out"]).scalars(as: Float.self)
        let steps = zip(actual, expected).map { (abs($0 - $1) / step).rounded() }
        let off = steps.filter { $0 > 0 }.count
        let masks = zip(Self.argmax(actual, classes: 3), Self.argmax(expected, classes: 3)).filter { $0 != $1 }.count
        // Every layer runs on an INT8 kernel: only the entry Q and the exit DQ are float steps.
        #expect(counts.keys.allSatisfy { $0.hasPrefix("Q") || $0 == "DequantizeLinear (from NHWC)" }, "\(counts)")
        // One code at most anywhere. After 20-odd quantized layers a rounding tie resolved the
        // other way upstream moves some outputs by that code: 436 of 12,288 (3.5%) when
        // written, and 9 mask pixels (0.07%); the bounds leave a little room above those.
        #expect(steps.count == 12_288 && (steps.max() ?? 99) <= 1, "max \(steps.max() ?? 0) steps of \(step)")
        #expect(off * 20 <= steps.count, "\(off) of \(steps.count) outputs differ from ORT by one code")
        #expect(masks * 200 <= steps.count, "\(masks) mask pixels differ from ORT's")
    }
}
