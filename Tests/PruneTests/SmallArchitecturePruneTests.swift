@testable import Prune
import Foundation
import SegGraph
import SegONNX
import SegReference
import SegRuntime
import SegServer
import SegTechnique
import SegTensor
import Testing

/// The Prune technique on the small LR-ASPP-shaped network of SegRuntimeTests' fixtures
/// (tools/fixtures/make_small_lraspp.py): its coupled channels (the inverted residual's Add,
/// squeeze-excite's Mul, the head's gate) pruned together, the class count and output size
/// kept, and the pruned model running alike on the runtime and the reference executor.
@Suite struct SmallArchitecturePruneTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SegRuntimeTests/Fixtures")

    @Test func halfTheChannelsPrunedConsistently() async throws {
        let model = try ONNX.load(contentsOf: Self.folder.appendingPathComponent("small_lraspp.onnx"))
        let x = try Tensor(contentsOfNPY: Self.folder.appendingPathComponent("small_lraspp.input.npy"))
        let result = try await PruneTechnique(parameters: ["ratio": 0.5, "roundTo": 1, "latencyRuns": 0])
            .apply(to: model, in: TechniqueContext(runner: TechniqueRunner(threads: nil)))
        let pruned = result.model
        let kept = try #require(result.details["macsKept"]?.doubleValue)
        #expect(kept > 0.3 && kept < 0.45, "macsKept \(kept)")  // 0.379: most convs ~1/4, the stem and classifiers 1/2
        #expect(pruned.graph.opCounts == model.graph.opCounts)
        // Output channels of every conv: halved where prunable, the two 3-class classifiers kept.
        func outChannels(_ m: Model) -> [Int] {
            m.graph.nodes.filter { $0.opType == "Conv" }.compactMap { m.graph.initializers[$0.inputs[1]]?.dims[0] }
        }
        let before = outChannels(model), after = outChannels(pruned)
        #expect(before.count == 12 && after.count == 12)
        // Ratio 0.5 on every group: the coupled convs (residual Add's two inputs, the SE convs
        // and the depthwise conv they gate) stay equal because each group is halved once.
        #expect(before == [8, 8, 4, 8, 16, 32, 32, 16, 16, 16, 3, 3])
        #expect(after == before.map { $0 == 3 ? 3 : $0 / 2 }, "\(before) → \(after)")
        let expected = try #require(try ReferenceExecutor(model: pruned).run(["image": x])["out"])
        #expect(expected.dims == [1, 3, 64, 64])
        let compiled = try Compiler(options: .standard).compile(pruned, inputShapes: ["image": x.dims])
        #expect(!compiled.kernelCounts.keys.contains { $0.contains("reference") }, "\(compiled.kernelCounts)")
        let actual = try #require(try compiled.run(["image": x])["out"]).scalars(as: Float.self)
        let e = try expected.scalars(as: Float.self)
        #expect(zip(actual, e).filter { !(abs($0 - $1) <= 1e-4 + 1e-4 * abs($1)) }.isEmpty)
    }
}
