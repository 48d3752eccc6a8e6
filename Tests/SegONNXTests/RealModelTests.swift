import Foundation
import Testing
import SegGraph
import SegTestSupport
@testable import SegONNX

private let lrasppPath = SharedAssets.path("models/lraspp_mbv3_camvid.onnx")

/// The shared LR-ASPP model (../shared/models/README.md): skipped without it, failed under CI=true.
@Suite(.requires(SharedAssets.requirement("models/lraspp_mbv3_camvid.onnx")))
struct RealModelTests {
    @Test func lrasppLoadsAndRoundTrips() throws {
        let url = URL(fileURLWithPath: lrasppPath)
        let original = [UInt8](try Data(contentsOf: url))
        let model = try ONNX.decode(original, baseDirectory: url.deletingLastPathComponent())

        #expect(model.irVersion == 8)
        #expect(model.opsetVersion(for: "") == 17)
        #expect(model.graph.opCounts == [
            "Conv": 66, "HardSwish": 20, "Relu": 20, "Add": 11, "GlobalAveragePool": 9, "Mul": 9,
            "HardSigmoid": 8, "Constant": 8, "Shape": 2, "Slice": 2, "Concat": 2, "Resize": 2, "Sigmoid": 1,
        ])
        #expect(model.graph.runtimeInputs.map(\.name) == ["image"])
        #expect(model.graph.runtimeInputs[0].type?.concreteDims == [1, 3, 360, 480])
        #expect(model.graph.outputs.map(\.name) == ["out"])
        let parameters = model.graph.initializers.reduce(0) { $0 + $1.tensor.elementCount }
        #expect((3_200_000...3_230_000).contains(parameters), "\(parameters) parameters")

        let written = try ONNX.encode(model)
        let reloaded = try ONNX.decode(written)
        #expect(reloaded == model)
        // Compare without #expect(==) on arrays: a failure would print 26 MB of bytes.
        #expect(firstDifference(try ONNX.encode(reloaded), written) == nil)
        #expect(firstDifference(written, original) == nil, "the exporter's bytes were not reproduced exactly")
    }
}

private let otherModels = [
    SharedAssets.path("models/deeplabv3_mbv3_camvid.onnx"): ["Conv": 70, "Relu": 26, "HardSwish": 20, "Add": 10, "GlobalAveragePool": 9,
                                                       "HardSigmoid": 8, "Mul": 8, "Constant": 8, "Concat": 3, "Shape": 2, "Slice": 2, "Resize": 2],
    SharedAssets.path("models/lraspp_mbv3_camvid.bn.onnx"): ["Conv": 66, "BatchNormalization": 47],
]

@Suite(.requires(SharedAssets.requirement("models/deeplabv3_mbv3_camvid.onnx", "models/lraspp_mbv3_camvid.bn.onnx")))
struct OtherSharedModelTests {
    @Test("the other shared models load, have the documented ops, and round-trip", arguments: otherModels.keys.sorted())
    func loadsAndRoundTrips(path: String) throws {
        let model = try ONNX.load(contentsOf: URL(fileURLWithPath: path))
        let counts = model.graph.opCounts
        for (op, expected) in otherModels[path] ?? [:] {
            #expect(counts[op] == expected, "\(op)")
        }
        let written = try ONNX.encode(model)
        #expect(try ONNX.decode(written) == model)
    }
}

/// Offset of the first differing byte (or the shorter length), nil when equal.
private func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
    if a == b { return nil }
    return zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
}
