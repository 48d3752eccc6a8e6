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
        // Every pixel is the class tiny_seg computes, worked out here from the image alone.
        let expected = try Self.tinySegMask(ImageIO.load(path: Self.fixture("tinyseg/images/s0.png")))
        #expect(Self.differences(mask.pixels, expected) == 0)
    }

    /// tiny_seg.onnx by hand (tools/fixtures/make_server_fixtures.py): x_c = (p_c / 255 − 0.5) / 0.25,
    /// scores (x_0, 0.1 − x_1, 0.25·x_2 + 0.3), argmax. nil where the best two scores are within
    /// 1e-4 (float rounding may pick either; x_0 = 0.25·x_2 + 0.3 has integer solutions).
    static func tinySegMask(_ image: Image) -> [UInt8?] {
        (0..<(image.width * image.height)).map { i in
            let x = (0..<3).map { (Double(image.pixels[3 * i + $0]) / 255 - 0.5) / 0.25 }
            let scores = [x[0], 0.1 - x[1], 0.25 * x[2] + 0.3]
            let sorted = scores.sorted(by: >)
            guard sorted[0] - sorted[1] > 1e-4, let best = scores.firstIndex(of: sorted[0]) else { return nil }
            return UInt8(best)
        }
    }

    /// Pixels where `mask` is not the expected class (near-ties excluded), or the count mismatch.
    static func differences(_ mask: [UInt8], _ expected: [UInt8?]) -> Int {
        guard mask.count == expected.count else { return max(mask.count, expected.count) }
        #expect(expected.filter { $0 == nil }.count <= expected.count / 20, "too many near-ties to check")
        return zip(mask, expected).filter { m, e in e.map { $0 != m } ?? false }.count
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

    /// Two different models (tiny_seg and tiny_conv_seg, same classes): agreement, deltas and
    /// size ratio against numbers worked out from each model's own segment and evaluate results.
    @Test func compareTwoDifferentModelsCountsAgreementAndDeltas() async throws {
        let c = try await loadedClient()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "conv"])
        var same = 0, total = 0
        for i in 0..<3 {
            var masks: [[UInt8]] = []
            for (k, id) in ["seg", "conv"].enumerated() {
                let r = try await c.call(Int64(10 + 2 * i + k), "model/segment", ["id": .string(id), "images": [.string(Self.fixture("tinyseg/images/s\(i).png"))],
                                                                         "overlay": false])
                let data = try #require(r["result"]?["results"]?.arrayValue?.first?["mask"]?["data"]?.stringValue, "\(r)")
                masks.append(try ImageIO.decodeLabel([UInt8](try #require(Data(base64Encoded: data)))).pixels)
            }
            total += masks[0].count
            same += zip(masks[0], masks[1]).filter { $0 == $1 }.count
        }
        let agreement = Double(same) / Double(total)
        #expect(agreement > 0 && agreement < 1, "the two fixtures must disagree somewhere for this test to mean anything: \(agreement)")
        func miou(_ id: String, _ n: Int64) async throws -> (Double, [Double]) {
            let r = try await c.call(n, "model/evaluate", ["id": .string(id), "dataset": .string(Self.fixture("tinyseg")), "split": "val"])
            let result = try #require(r["result"], "\(r)")
            return (try #require(result["miou"]?.doubleValue), result["perClassIoU"]?.arrayValue?.compactMap { $0["iou"]?.doubleValue } ?? [])
        }
        let (miouA, iouA) = try await miou("seg", 20), (miouB, iouB) = try await miou("conv", 21)
        // a is tiny_seg, whose mIoU ORT's masks give in tinyseg.expected.json.
        let expected = try JSONParser.parse(try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.fixture("tinyseg.expected.json")))))
        #expect(abs(miouA - (expected["miou"]?.doubleValue ?? -1)) < 1e-9)
        #expect(iouA.count == 3 && iouB.count == 3)

        let r = try await c.call(2, "model/compare", ["ids": ["seg", "conv"], "dataset": .string(Self.fixture("tinyseg")), "split": "val"])
        let result = try #require(r["result"], "\(r)")
        #expect(abs((result["pixelAgreement"]?.doubleValue ?? -1) - agreement) < 1e-12, "\(result)")
        #expect(abs((result["miouDelta"]?.doubleValue ?? -9) - (miouB - miouA)) < 1e-12)
        let deltas = result["perClassIoUDelta"]?.arrayValue ?? []
        #expect(deltas.compactMap { $0["class"]?.stringValue } == ["bright", "dark", "middle"])
        let deltaValues = deltas.compactMap { $0["delta"]?.doubleValue }
        #expect(deltaValues.count == 3 && (0..<3).allSatisfy { abs(deltaValues[$0] - (iouB[$0] - iouA[$0])) < 1e-12 })
        func size(_ name: String) throws -> Double {
            Double(try #require(try FileManager.default.attributesOfItem(atPath: Self.fixture(name))[.size] as? Int))
        }
        #expect(abs((result["sizeRatio"]?.doubleValue ?? -1) - (try size("tiny_conv_seg.onnx")) / (try size("tiny_seg.onnx"))) < 1e-12)
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
