import Foundation
import SegArchitectures
import SegGraph
import SegONNX
import SegReference
import SegTestSupport
import SegTensor
import Testing

/// The builder against the random-init students PyTorch exported from torchvision
/// (`../shared/models/*_init.bn.onnx`): same layers in the same order, same parameter shapes,
/// same output shape. The exports compute their Resize sizes with Shape/Gather/Unsqueeze/Cast
/// chains and ours with Shape/Slice/Concat, so the op sequence compared is the one of the ops
/// that carry data (shape plumbing and Constants left out).
@Suite struct ReferenceStructureTests {
    static let plumbing: Set<String> = ["Constant", "Shape", "Gather", "Unsqueeze", "Concat", "Slice", "Cast"]

    static func dataOps(_ model: Model) throws -> [String] {
        let graph = model.graph
        return try graph.topologicalOrder().map { graph.nodes[$0].opType }.filter { !plumbing.contains($0) }
    }

    func compare(_ arch: Architecture, _ file: String, parameters expected: Int) throws {
        let reference = try ONNX.load(contentsOf: URL(fileURLWithPath: SharedAssets.path("models/\(file)")))
        let built = try StudentBuilder.build(StudentSpec(architecture: arch, classes: 11))
        #expect(try Self.dataOps(built) == Self.dataOps(reference))
        let ours = built.graph.initializers.map(\.tensor.dims)
        let theirs = reference.graph.initializers.map(\.tensor.dims)
        #expect(ours == theirs, "initializer shapes differ in order or size")
        let count = built.graph.initializers.reduce(0) { $0 + $1.tensor.elementCount }
        #expect(count == reference.graph.initializers.reduce(0) { $0 + $1.tensor.elementCount })
        #expect(count == expected)
        let inference = try ShapeInference(model: built)
        #expect(inference.types["out"]?.concreteDims == [1, 11, 360, 480])
        let theirsAtSize = try ShapeInference(model: reference, inputShapes: ["image": [1, 3, 360, 480]])
        #expect(theirsAtSize.types["out"]?.concreteDims == [1, 11, 360, 480])
    }

    @Test(.requires(SharedAssets.requirement("models/lraspp_mbv3small_init.bn.onnx")))
    func mobileNetV3SmallMatchesTorchvisionExport() throws {
        try compare(.lrasppMobileNetV3Small, "lraspp_mbv3small_init.bn.onnx", parameters: 1_088_782)
    }

    @Test(.requires(SharedAssets.requirement("models/lraspp_mbv3large_init.bn.onnx")))
    func mobileNetV3LargeMatchesTorchvisionExport() throws {
        try compare(.lrasppMobileNetV3Large, "lraspp_mbv3large_init.bn.onnx", parameters: 3_244_494)
    }
}
