import Foundation
import SegImaging
import SegProtocol
import Testing

/// `model/compare {outputDir, panels}`: titled panels for the images where two models differ
/// most, never replacing a file without `overwrite`.
@Suite struct ComparePanelsTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    @Test func panelsForTheMostDifferentImagesFirstWithTitles() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_seg.onnx")), "id": "a"])
        _ = try await c.call(2, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "b"])
        // Independently: each val image's differing pixels, from the two models' own masks.
        let val = try String(contentsOfFile: Self.fixture("tinyseg/val.txt"), encoding: .utf8)
            .split(separator: "\n").map { Self.fixture("tinyseg/" + String($0.split(separator: " ")[0])) }
        var differing: [(image: String, fraction: Double, width: Int, height: Int)] = []
        for (k, image) in val.enumerated() {
            var masks: [Image] = []
            for id in ["a", "b"] {
                let r = try await c.call(10 + Int64(k) * 2 + (id == "a" ? 0 : 1), "model/segment", ["id": .string(id), "images": [.string(image)], "overlay": false])
                let b64 = try #require(r["result"]?["results"]?.arrayValue?.first?["mask"]?["data"]?.stringValue)
                masks.append(try ImageIO.decodeLabel([UInt8](try #require(Data(base64Encoded: b64)))))
            }
            let d = zip(masks[0].pixels, masks[1].pixels).filter { $0 != $1 }.count
            differing.append((image, Double(d) / Double(masks[0].pixels.count), masks[0].width, masks[0].height))
        }
        let expected = differing.enumerated().sorted { ($1.element.fraction, $0.offset) < ($0.element.fraction, $1.offset) }.prefix(2).map(\.element)
        #expect(expected.count == 2 && expected[0].fraction > expected[1].fraction)

        let out = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-cmp-\(UUID().uuidString)")
        let params: JSONValue = ["ids": ["a", "b"], "dataset": .string(Self.fixture("tinyseg")), "outputDir": .string(out.path), "panels": 2]
        let r = try await c.call(3, "model/compare", params)
        let result = try #require(r["result"])
        let images = result["panelImages"]?.arrayValue ?? []
        #expect(images.compactMap { $0["image"]?.stringValue } == expected.map(\.image))
        for (got, want) in zip(images, expected) { #expect(abs((got["differing"]?.doubleValue ?? -1) - want.fraction) < 1e-6) }
        let panels = result["panels"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(panels.count == 2)
        for (path, want) in zip(panels, expected) {
            #expect((path as NSString).lastPathComponent == ((want.image as NSString).lastPathComponent as NSString).deletingPathExtension + ".compare.png")
            let panel = try ImageIO.load(path: path)
            // Three panels 8 pixels apart, under a white title band.
            #expect(panel.width == 3 * want.width + 2 * Image.comparisonPanelGap)
            #expect(panel.height == want.height + Image.comparisonTitleHeight)
        }

        // Panels already there are not replaced without overwrite; nothing is written.
        let before = try Data(contentsOf: URL(fileURLWithPath: panels[0]))
        try Data("mine".utf8).write(to: URL(fileURLWithPath: panels[1]))
        let again = try await c.call(4, "model/compare", params)
        #expect(again.errorCode == -33008)
        #expect(try Data(contentsOf: URL(fileURLWithPath: panels[1])) == Data("mine".utf8))
        guard case .object(var o) = params else { return }
        o["overwrite"] = true
        #expect(try await c.call(5, "model/compare", .object(o))["result"]?["panels"]?.arrayValue?.count == 2)
        #expect(try Data(contentsOf: URL(fileURLWithPath: panels[0])) == before)
        #expect(try Data(contentsOf: URL(fileURLWithPath: panels[1])) != Data("mine".utf8))
        o["panels"] = 0
        #expect(try await c.call(6, "model/compare", .object(o))["result"]?["panels"] == [])
        o["panels"] = 1001
        #expect(try await c.call(7, "model/compare", .object(o)).errorCode == -32602)
    }
}
