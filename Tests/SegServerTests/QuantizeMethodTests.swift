import Foundation
import SegProtocol
import SegServer
import SegTensor
import Testing

/// `model/compress` with the Quantize plugin and `model/sensitivity`, end to end through the
/// server on the tiny segmentation fixture and its dataset.
@Suite struct QuantizeMethodTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    @Test func staticINT8IsWrittenWithReportAndProvenance() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let dir = CompressMethodTests().tempDir()
        let out = dir.appendingPathComponent("int8.onnx")
        let r = try await c.call(2, "model/compress", [
            "id": "m", "technique": "quantize", "params": ["calibration": "percentile"], "dataset": .string(Self.fixture("tinyseg")),
            "calibration": ["split": "val", "count": 3], "outputPath": .string(out.path), "newId": "q",
        ])
        let result = try #require(r["result"], "\(r)")
        let report = try #require(result["report"])
        let details = try #require(report["steps"]?.arrayValue?.first?["details"])
        #expect(details["calibrationImages"] == 3)
        #expect((details["layers"]?.arrayValue?.count ?? 0) > 0)
        #expect(report["data"]?["calibration"]?["split"] == "val")
        #expect(report["evaluation"]?["after"]?["miou"]?.doubleValue != nil)
        #expect((report["after"]?["opCounts"]?["QuantizeLinear"]?.intValue ?? 0) > 0)
        #expect(FileManager.default.fileExists(atPath: out.path + ".report.json"))
        // The quantized model is resident and segments; the file reloads with its provenance.
        let seg = try await c.call(3, "model/segment", ["id": "q", "images": [.string(Self.fixture("tinyseg/images/s0.png"))]])
        #expect(seg["result"]?["results"]?.arrayValue?.count == 1, "\(seg)")
        let info = try await c.call(4, "model/load", ["path": .string(out.path), "id": "reloaded"])
        #expect(info["result"]?["metadata"]?["segslim.technique"] == "quantize")
        #expect(info["result"]?["metadata"]?["segslim.parameters"]?.stringValue?.contains("percentile") == true)
        // The original is untouched.
        let original = try #require(try await c.call(5, "model/info", ["id": "m"])["result"]?["opCounts"]?.objectValue)
        #expect(original["Conv"] != nil && original["QuantizeLinear"] == nil, "\(original)")
    }

    @Test func dryRunWritesNothingAndRegistersNothing() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let out = CompressMethodTests().tempDir().appendingPathComponent("dry.onnx")
        let r = try await c.call(2, "model/compress", ["id": "m", "technique": "quantize", "params": ["dryRun": true], "outputPath": .string(out.path)])
        #expect(r["result"]?["dryRun"] == true, "\(r)")
        #expect(r["result"]?["report"]?["steps"]?.arrayValue?.first?["details"]?["preflight"]?["int8Nodes"]?.arrayValue?.isEmpty == false)
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let list = try await c.call(3, "model/list", [:])
        #expect(list["result"]?["models"]?.arrayValue?.count == 1, "\(list)")
    }

    @Test func staticWithoutDataIsATechniqueErrorThatSaysWhatToPass() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let r = try await c.call(2, "model/compress", ["id": "m", "technique": "quantize"])
        #expect(r.errorCode == -33007)
        #expect(r["error"]?["message"]?.stringValue?.contains("params.dataset") == true, "\(r)")
        let bad = try await c.call(3, "model/compress", ["id": "m", "technique": "quantize", "calibration": ["path": "/nonexistent/folder"]])
        #expect(bad["error"]?["message"]?.stringValue?.contains("calibration.path") == true, "\(bad)")
        let count = try await c.call(4, "model/compress", ["id": "m", "technique": "quantize", "dataset": .string(Self.fixture("tinyseg")), "calibration": ["count": 0]])
        #expect(count.errorCode == -32602)
        // Still serving.
        #expect(try await c.call(5, "model/info", ["id": "m"])["result"] != nil)
    }

    @Test func sensitivityListsLayersMostSensitiveFirst() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let r = try await c.call(2, "model/sensitivity", ["id": "m", "technique": "quantize", "dataset": .string(Self.fixture("tinyseg")), "limit": 2,
                                                          "params": ["calibration": "minmax"]])
        let layers = try #require(r["result"]?["layers"]?.arrayValue, "\(r)")
        #expect(!layers.isEmpty)
        let drops = layers.compactMap { $0["miouDrop"]?.doubleValue }
        #expect(drops == drops.sorted(by: >))
        let fuse = try await c.call(3, "model/sensitivity", ["id": "m", "technique": "fuse", "dataset": .string(Self.fixture("tinyseg"))])
        #expect(fuse.errorCode == -32602)
    }
}
