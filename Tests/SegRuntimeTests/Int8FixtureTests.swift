import Foundation
import SegONNX
import SegRuntime
import SegTensor
import Testing

/// The INT8 plan against ONNX Runtime's own INT8 results (not our requantize formula): QDQ
/// convolutions that ORT runs as QLinearConv, written with their inputs and outputs by
/// tools/fixtures/make_int8_fixtures.py. Every output must be ORT's code or one code away (a
/// rounding tie resolved the other way), and only a few may differ at all.
@Suite struct Int8FixtureTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// (fixture, output scale, the INT8 kernel kind it must run on).
    static let cases: [(String, Float, String)] = [
        ("pointwise", 0.05, "pointwise"), ("depthwise", 0.05, "depthwise"), ("im2col", 0.04, "im2col"),
    ]

    @Test(arguments: cases)
    func matchesOnnxRuntimeToOneCode(name: String, scale: Float, algorithm: String) throws {
        let model = try ONNX.load(contentsOf: Self.folder.appendingPathComponent("int8_\(name).onnx"))
        let x = try Tensor(contentsOfNPY: Self.folder.appendingPathComponent("int8_\(name).input.npy"))
        let expected = try Tensor(contentsOfNPY: Self.folder.appendingPathComponent("int8_\(name).output.npy")).scalars(as: Float.self)
        let compiled = try Compiler(int8: true, options: .standard).compile(model, inputShapes: ["x": x.dims])
        let counts = compiled.kernelCounts
        #expect(counts.keys.contains { $0.hasPrefix("QConv (\(algorithm)") }, "\(counts)")
        #expect(!counts.keys.contains { $0.contains("reference") || $0 == "Conv" }, "\(counts)")
        let y = try #require(try compiled.run(["x": x])["y"])
        let actual = try y.scalars(as: Float.self)
        #expect(actual.count == expected.count)
        let steps = zip(actual, expected).map { (abs($0 - $1) / scale).rounded() }
        let off = steps.filter { $0 > 0 }.count
        #expect((steps.max() ?? 99) <= 1, "\(name): max difference \(steps.max() ?? 0) codes")
        #expect(off * 100 <= actual.count, "\(name): \(off) of \(actual.count) codes differ from ORT")
    }
}
