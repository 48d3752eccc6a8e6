import Foundation
import SegImaging
import SegProtocol
import SegServer
import Testing

@Suite struct SegmentMethodTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    func tempDir() -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-seg-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func loadedClient() async throws -> TestClient {
        let c = TestClient()
        try await c.initialize()
        let r = try await c.call(100, "model/load", ["path": .string(Self.fixture("tiny_seg.onnx")), "id": "seg"])
        #expect(r["result"]?["preprocessing"]?["classes"] == ["bright", "dark", "middle"])
        #expect(r["result"]?["preprocessing"]?["resize"] == "none")
        return c
    }

    @Test func datasetOpenListClose() async throws {
        let c = TestClient()
        try await c.initialize()
        let r = try await c.call(1, "dataset/open", ["path": .string(Self.fixture("tinyseg"))])
        let d = try #require(r["result"])
        #expect(d["format"] == "paddleseg")
        #expect(d["splits"] == ["train": 1, "val": 3])
        #expect(d["numClasses"] == 3)
        #expect(d["problems"]?["missingFiles"] == 0)
        #expect(try await c.call(2, "dataset/list")["result"]?["datasets"]?.arrayValue?.count == 1)
        let id = try #require(d["id"])
        #expect(try await c.call(3, "dataset/close", ["id": id])["result"] != nil)
        #expect(try await c.call(4, "dataset/close", ["id": id]).errorCode == -33005)
        #expect(try await c.call(5, "dataset/open", ["path": "/no/such/folder"]).errorCode == -33001)
        #expect(try await c.call(6, "dataset/open", ["path": .string(Self.fixture("tinyseg")), "format": "kitti"]).errorCode == -32602)
    }

    @Test func segmentWritesMaskOverlayAndLegendAtOriginalSize() async throws {
        let c = try await loadedClient()
        let out = tempDir()
        let images: JSONValue = [.string(Self.fixture("tinyseg/images/s0.png")), .string(Self.fixture("tinyseg/images/s1.png"))]
        let r = try await c.call(1, "model/segment", ["id": "seg", "images": images, "outputDir": .string(out.path), "legend": true])
        let results = try #require(r["result"]?["results"]?.arrayValue)
        #expect(results.count == 2)
        let maskPath = try #require(results[0]["mask"]?.stringValue)
        #expect(maskPath == out.appendingPathComponent("s0.mask.png").path)
        let mask = try ImageIO.loadLabel(path: maskPath)
        #expect(mask.width == 9 && mask.height == 6)
        let overlay = try ImageIO.load(path: try #require(results[0]["overlay"]?.stringValue))
        #expect(overlay.width == 9 && overlay.channels == 3)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("legend.png").path))
        let fractions = results[0]["classes"]?.arrayValue?.compactMap { $0["fraction"]?.doubleValue } ?? []
        #expect(abs(fractions.reduce(0, +) - 1) < 1e-5)
        #expect(results[0]["timings"]?["inferMs"]?.doubleValue != nil)
        // Predictions equal ORT's on the pixels where the label copies them (labels were made
        // from ORT's argmax with some pixels changed): at least 60% agree.
        let label = try ImageIO.loadLabel(path: Self.fixture("tinyseg/labels/s0.png"))
        let agree = zip(mask.pixels, label.pixels).filter { $0 == $1 }.count
        #expect(Double(agree) / Double(mask.pixels.count) > 0.6)
    }

    @Test func segmentInlineAndBadImages() async throws {
        let c = try await loadedClient()
        let png = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("tinyseg/images/s2.png")))
        let r = try await c.call(1, "model/segment", ["id": "seg", "images": [["data": .string(png.base64EncodedString()), "name": "x.png"]], "overlay": false])
        let mask = try #require(r["result"]?["results"]?.arrayValue?.first?["mask"]?["data"]?.stringValue)
        let decoded = try ImageIO.decodeLabel([UInt8](try #require(Data(base64Encoded: mask))))
        #expect(decoded.width == 13 && decoded.height == 8)
        #expect(try await c.call(2, "model/segment", ["id": "seg", "images": ["/no/such.png"]]).errorCode == -33001)
        let garbage = tempDir().appendingPathComponent("g.png")
        try Data("not an image".utf8).write(to: garbage)
        #expect(try await c.call(3, "model/segment", ["id": "seg", "images": [.string(garbage.path)]]).errorCode == -33009)
        #expect(try await c.call(4, "model/segment", ["id": "seg", "images": []]).errorCode == -32602)
        _ = try await c.call(5, "model/load", ["path": .string(Self.fixture("relu.onnx")), "id": "relu"])
        #expect(try await c.call(6, "model/segment", ["id": "relu", "images": [.string(Self.fixture("tinyseg/images/s0.png"))]]).errorCode == -32602)
    }

    @Test func evaluateMatchesTheNumpyReference() async throws {
        let c = try await loadedClient()
        let expected = try JSONParser.parse(try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.fixture("tinyseg.expected.json")))))
        c.send(#"{"jsonrpc":"2.0","id":1,"method":"model/evaluate","params":{"id":"seg","dataset":"\#(Self.fixture("tinyseg"))","split":"val","workDoneToken":"ev"}}"#)
        let r = try await c.response(1)
        let result = try #require(r["result"])
        #expect(result["images"] == 3)
        #expect(abs((result["miou"]?.doubleValue ?? -1) - (expected["miou"]?.doubleValue ?? -2)) < 1e-9)
        #expect(abs((result["pixelAccuracy"]?.doubleValue ?? -1) - (expected["pixelAccuracy"]?.doubleValue ?? -2)) < 1e-9)
        let ious = result["perClassIoU"]?.arrayValue?.compactMap { $0["iou"]?.doubleValue } ?? []
        let want = expected["perClassIoU"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        #expect(ious.count == 3 && zip(ious, want).allSatisfy { abs($0 - $1) < 1e-9 })
        let reports = c.messages.filter { $0["method"] == "$/progress" }.compactMap { $0["params"]?["value"]?["kind"]?.stringValue }
        #expect(reports == ["begin", "report", "report", "report", "end"])
        #expect(try await c.call(2, "model/evaluate", ["id": "seg", "dataset": .string(Self.fixture("tinyseg")), "split": "test"]).errorCode == -33005)
    }

    @Test func compareAModelWithItselfAgreesEverywhere() async throws {
        let c = try await loadedClient()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_seg.onnx")), "id": "seg2"])
        let r = try await c.call(2, "model/compare", ["ids": ["seg", "seg2"], "dataset": .string(Self.fixture("tinyseg")), "split": "val"])
        let result = try #require(r["result"])
        #expect(result["pixelAgreement"]?.doubleValue == 1.0)
        #expect(result["miouDelta"]?.doubleValue == 0.0)
        #expect(result["sizeRatio"]?.doubleValue == 1.0)
    }

    /// The tiny model is per-pixel, so sliding windows (overlaps averaged) must give exactly the
    /// whole-image mask; odd sizes exercise the last window flush with the edge.
    @Test func slidingWindowsAgreeWithWholeImageForAPerPixelModel() async throws {
        let c = try await loadedClient()
        let image: JSONValue = [.string(Self.fixture("tinyseg/images/s2.png"))]
        let whole = try await c.call(1, "model/segment", ["id": "seg", "images": image, "overlay": false])
        let slid = try await c.call(2, "model/segment", ["id": "seg", "images": image, "overlay": false, "slide": ["crop": [4, 6], "stride": [3, 4]]])
        let a = whole["result"]?["results"]?.arrayValue?.first?["mask"]?["data"]?.stringValue
        let b = slid["result"]?["results"]?.arrayValue?.first?["mask"]?["data"]?.stringValue
        #expect(a != nil && a == b)
        let bad = try await c.call(3, "model/segment", ["id": "seg", "images": image, "slide": ["crop": [0, 6], "stride": [3, 4]]])
        #expect(bad.errorCode == -32602)
        #expect(bad.errorMessage.contains("params.slide.crop"))
    }

    @Test func requestsWaitForAModelStillLoading() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","id":1,"method":"model/load","params":{"path":"\#(Self.fixture("tiny_seg.onnx"))"}}"#)
        c.send(#"{"jsonrpc":"2.0","id":2,"method":"model/segment","params":{"id":"tiny_seg","images":["\#(Self.fixture("tinyseg/images/s0.png"))"],"overlay":false}}"#)
        c.send(#"{"jsonrpc":"2.0","id":3,"method":"model/load","params":{"path":"/no/such.onnx","id":"ghost"}}"#)
        c.send(#"{"jsonrpc":"2.0","id":4,"method":"model/info","params":{"id":"ghost"}}"#)
        #expect(try await c.response(2)["result"]?["results"]?.arrayValue?.count == 1)
        #expect(try await c.response(3).errorCode == -33001)
        #expect(try await c.response(4).errorCode == -33004)
    }

    @Test func preprocessingOverridesAreValidatedAndExported() async throws {
        let c = TestClient()
        try await c.initialize()
        let bad = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_seg.onnx")), "preprocessing": ["channel_order": "GBR"]])
        #expect(bad.errorCode == -32602)
        #expect(bad.errorMessage.contains("channel_order"))
        let ok = try await c.call(2, "model/load", ["path": .string(Self.fixture("tiny_seg.onnx")), "id": "m", "preprocessing": ["channel_order": "BGR", "input_size": [8, 12], "resize": "stretch"]])
        #expect(ok["result"]?["preprocessing"]?["channelOrder"] == "BGR")
        #expect(ok["result"]?["preprocessing"]?["inputSize"] == [8, 12])
        let target = tempDir().appendingPathComponent("m.onnx")
        _ = try await c.call(3, "model/export", ["id": "m", "path": .string(target.path)])
        let again = try await c.call(4, "model/load", ["path": .string(target.path), "id": "m2"])
        #expect(again["result"]?["metadata"]?["segslim.channel_order"] == "BGR")
        #expect(again["result"]?["preprocessing"]?["inputSize"] == [8, 12])
    }
}
