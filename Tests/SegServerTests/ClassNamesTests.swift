import Foundation
import SegImaging
import SegONNX
import SegProtocol
import Testing

/// Class names and normalization end to end: given per request (`model/segment {classes}`),
/// recorded in a copy (`model/annotate`, `model/compress {dataset}`), and a warning whenever
/// a request had to assume them.
@Suite struct ClassNamesTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }
    static let datasetNames: JSONValue = ["bright", "dark", "middle"]

    func tempDir() -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-classes-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// `tiny_seg.onnx` with its `segslim.*` metadata removed: a model that says nothing about
    /// its classes or normalization, as most exported models.
    func bareModel(in dir: URL) throws -> String {
        var model = try ONNX.load(contentsOf: URL(fileURLWithPath: Self.fixture("tiny_seg.onnx")))
        model.metadata = [:]
        let url = dir.appendingPathComponent("bare_seg.onnx")
        try ONNX.write(model, to: url)
        return url.path
    }

    func client(loading paths: [String: String]) async throws -> TestClient {
        let c = TestClient()
        try await c.initialize()
        for (i, (id, path)) in paths.sorted(by: { $0.key < $1.key }).enumerated() {
            let r = try await c.call(900 + Int64(i), "model/load", ["path": .string(path), "id": .string(id)])
            #expect(r["result"] != nil, "\(r)")
        }
        return c
    }

    func labels(_ result: JSONValue, _ index: Int = 0) throws -> [UInt8] {
        let b64 = try #require(result["result"]?["results"]?.arrayValue?[index]["mask"]?["data"]?.stringValue)
        return try ImageIO.decodeLabel([UInt8](try #require(Data(base64Encoded: b64)))).pixels
    }

    @Test func segmentWarnsAboutDefaultsAndTakesNamesFromADataset() async throws {
        let dir = tempDir()
        let c = try await client(loading: ["bare": try bareModel(in: dir), "named": Self.fixture("tiny_seg.onnx")])
        let image: JSONValue = [.string(Self.fixture("tinyseg/images/s0.png"))]

        // model/info (and the load's answer) says the same up front.
        let info = try await c.call(3, "model/info", ["id": "bare"])["result"]?["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(info.count == 2 && info.contains { $0.contains("segslim.classes") })
        #expect(try await c.call(4, "model/info", ["id": "named"])["result"]?["warnings"] == [])
        let bare = try await c.call(1, "model/segment", ["id": "bare", "images": image, "overlay": false])
        let warnings = bare["result"]?["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(warnings.count == 2)
        #expect(warnings.contains { $0.contains("segslim.mean") && $0.contains("0.485") })
        #expect(warnings.contains { $0.contains("segslim.classes") && $0.contains("'class 2'") })
        let bareNames = bare["result"]?["results"]?.arrayValue?.first?["classes"]?.arrayValue?.compactMap { $0["class"]?.stringValue } ?? []
        #expect(!bareNames.isEmpty && bareNames.allSatisfy { $0.hasPrefix("class ") })

        // A model whose metadata says everything: no warnings at all.
        let named = try await c.call(2, "model/segment", ["id": "named", "images": image, "overlay": false])
        #expect(named["result"]?["warnings"] == nil)

        // Names from the dataset folder (its dataset.json), from the file, and inline.
        let out = dir.appendingPathComponent("out")
        for (k, source) in [JSONValue.string(Self.fixture("tinyseg")), .string(Self.fixture("tinyseg/dataset.json")),
                            ["names": ["bright", "dark", "middle"], "palette": [[1, 2, 3], [4, 5, 6], [7, 8, 9]]]].enumerated() {
            let r = try await c.call(10 + Int64(k), "model/segment", ["id": "bare", "images": image, "classes": source, "legend": true,
                                                                     "outputDir": .string(out.path), "overwrite": true])
            let shown = r["result"]?["results"]?.arrayValue?.first?["classes"]?.arrayValue?.compactMap { $0["class"]?.stringValue } ?? []
            #expect(!shown.isEmpty && shown.allSatisfy { ["bright", "dark", "middle"].contains($0) }, "\(source): \(shown)")
            // Only the normalization is still assumed.
            let left = r["result"]?["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(left.count == 1 && left[0].contains("segslim.mean"))
        }
        // The inline palette colours the mask's PLTE entries (class i → colour i).
        let mask = try ImageIO.read(out.appendingPathComponent("s0.mask.png").path)
        let plte = try #require(Self.chunk("PLTE", in: mask))
        #expect(Array(plte.prefix(9)) == [1, 2, 3, 4, 5, 6, 7, 8, 9])

        let wrongCount = try await c.call(20, "model/segment", ["id": "bare", "images": image, "classes": ["names": ["a", "b"]]])
        #expect(wrongCount.errorCode == -32602 && wrongCount.errorMessage.contains("params.classes") && wrongCount.errorMessage.contains("3 classes"))
        let missing = try await c.call(21, "model/segment", ["id": "bare", "images": image, "classes": "/no/such/dataset"])
        #expect(missing.errorCode == -33001)
        let nameless = dir.appendingPathComponent("nameless.json")
        try Data(#"{"num_classes": 3}"#.utf8).write(to: nameless)
        let noNames = try await c.call(22, "model/segment", ["id": "bare", "images": image, "classes": .string(nameless.path)])
        #expect(noNames.errorCode == -33005 && noNames.errorMessage.contains("classes"))
        let shortPalette = try await c.call(23, "model/segment", ["id": "bare", "images": image, "classes": ["names": ["a", "b", "c"], "palette": [[1, 2, 3]]]])
        #expect(shortPalette.errorCode == -32602)
    }

    /// The bytes of the first chunk of this type in a PNG.
    static func chunk(_ type: String, in png: [UInt8]) -> [UInt8]? {
        var i = 8
        while i + 8 <= png.count {
            let length = png[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) }
            if String(decoding: png[(i + 4)..<(i + 8)], as: UTF8.self) == type { return Array(png[(i + 8)..<min(i + 8 + length, png.count)]) }
            i += 12 + length
        }
        return nil
    }

    @Test func annotateRecordsClassesAndNormalizationThatLaterLoadsUse() async throws {
        let dir = tempDir()
        let c = try await client(loading: ["bare": try bareModel(in: dir), "named": Self.fixture("tiny_seg.onnx"), "relu": Self.fixture("relu.onnx")])
        let out = dir.appendingPathComponent("annotated.onnx").path
        let params: JSONValue = ["id": "bare", "classes": .string(Self.fixture("tinyseg")), "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
                                 "outputPath": .string(out)]
        let r = try await c.call(1, "model/annotate", params)
        let meta = try #require(r["result"]?["metadata"]?.objectValue)
        #expect(r["result"]?["path"] == .string(out))
        #expect(Set(meta.keys) == ["segslim.classes", "segslim.palette", "segslim.mean", "segslim.std"])
        #expect(meta["segslim.classes"] == #"["bright","dark","middle"]"#)

        // Loaded again, the copy names its classes and normalizes as told: its masks equal
        // those of tiny_seg.onnx, which carries the same mean/std, and nothing is assumed.
        let loaded = try await c.call(2, "model/load", ["path": .string(out), "id": "annotated"])
        #expect(loaded["result"]?["preprocessing"]?["classes"] == Self.datasetNames)
        #expect(loaded["result"]?["preprocessing"]?["mean"] == [0.5, 0.5, 0.5])
        for (k, name) in ["s0.png", "s1.png", "s2.png"].enumerated() {
            let image: JSONValue = [.string(Self.fixture("tinyseg/images/\(name)"))]
            let a = try await c.call(10 + Int64(k), "model/segment", ["id": "annotated", "images": image, "overlay": false])
            let b = try await c.call(20 + Int64(k), "model/segment", ["id": "named", "images": image, "overlay": false])
            #expect(a["result"]?["warnings"] == nil)
            #expect(try labels(a) == labels(b), "\(name)")
        }
        // The resident model is untouched.
        #expect(try await c.call(3, "model/info", ["id": "bare"])["result"]?["metadata"] == [:])

        let again = try await c.call(4, "model/annotate", params)
        #expect(again.errorCode == -33008 && again.errorMessage.contains("overwrite"))
        guard case .object(var o) = params else { return }
        o["overwrite"] = true
        o["classes"] = ["names": ["x", "y", "z"]]
        o["mean"] = nil
        o["std"] = nil
        #expect(try await c.call(5, "model/annotate", .object(o))["result"]?["metadata"]?["segslim.classes"] == #"["x","y","z"]"#)

        #expect(try await c.call(6, "model/annotate", ["id": "bare", "outputPath": .string(out), "overwrite": true]).errorCode == -32602)
        #expect(try await c.call(7, "model/annotate", ["id": "bare", "std": [1, 0, 1], "outputPath": .string(out), "overwrite": true]).errorCode == -32602)
        let relu = try await c.call(8, "model/annotate", ["id": "relu", "mean": [0, 0, 0], "outputPath": .string(dir.appendingPathComponent("r.onnx").path)])
        #expect(relu.errorCode == -32602 && relu.errorMessage.contains("not an image segmentation model"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r.onnx").path))
    }

    @Test func copiesCarryWhatWasGivenAndCompressWithADatasetRecordsItsClasses() async throws {
        let dir = tempDir()
        let c = try await client(loading: ["bare": try bareModel(in: dir)])
        // Defaults are not written into copies as if they had been given.
        let exported = dir.appendingPathComponent("exported.onnx").path
        #expect(try await c.call(1, "model/export", ["id": "bare", "path": .string(exported)])["result"] != nil)
        let exportedMeta = try ONNX.load(contentsOf: URL(fileURLWithPath: exported)).metadata
        #expect(exportedMeta["segslim.classes"] == nil && exportedMeta["segslim.mean"] == nil && exportedMeta["segslim.palette"] == nil)

        let plain = dir.appendingPathComponent("plain.onnx").path
        let plainResult = try await c.call(2, "model/compress", ["id": "bare", "technique": "fuse", "outputPath": .string(plain), "newId": "plain"])
        // No images went through the model: nothing about its preprocessing was assumed.
        #expect(plainResult["result"] != nil && plainResult["result"]?["report"]?["warnings"] == nil)
        #expect(try ONNX.load(contentsOf: URL(fileURLWithPath: plain)).metadata["segslim.classes"] == nil)

        let withData = dir.appendingPathComponent("with-data.onnx").path
        let r = try await c.call(3, "model/compress", ["id": "bare", "technique": "fuse", "outputPath": .string(withData), "newId": "with-data",
                                                      "dataset": .string(Self.fixture("tinyseg")), "benchmarkRuns": 0])
        #expect(r["result"] != nil, "\(r)")
        // Evaluated with ImageNet statistics the model never stated: the report says so.
        let reportWarnings = r["result"]?["report"]?["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(reportWarnings.count == 1 && reportWarnings[0].contains("segslim.mean"))
        let meta = try ONNX.load(contentsOf: URL(fileURLWithPath: withData)).metadata
        #expect(meta["segslim.classes"] == #"["bright","dark","middle"]"#)
        // tinyseg's dataset.json has no palette: the default one, class 0 not black.
        let defaultPalette = Palette.visible(count: 3).map { "[\($0.r),\($0.g),\($0.b)]" }.joined(separator: ",")
        #expect(meta["segslim.palette"] == "[\(defaultPalette)]")
        #expect(meta["segslim.mean"] == nil)
        let loaded = try await c.call(4, "model/load", ["path": .string(withData), "id": "reloaded"])
        #expect(loaded["result"]?["preprocessing"]?["classes"] == Self.datasetNames)
        // model/pipeline records them the same way.
        let piped = dir.appendingPathComponent("piped.onnx").path
        let pipeline = try await c.call(6, "model/pipeline", ["id": "bare", "steps": [["technique": "fuse"]], "outputPath": .string(piped), "newId": "piped",
                                                             "dataset": .string(Self.fixture("tinyseg")), "benchmarkRuns": 0, "evaluate": false])
        #expect(pipeline["result"] != nil, "\(pipeline)")
        #expect(try ONNX.load(contentsOf: URL(fileURLWithPath: piped)).metadata["segslim.classes"] == #"["bright","dark","middle"]"#)
        let seg = try await c.call(5, "model/segment", ["id": "reloaded", "images": [.string(Self.fixture("tinyseg/images/s0.png"))], "overlay": false])
        let warnings = seg["result"]?["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(warnings.count == 1 && !warnings[0].contains("segslim.classes"))
    }

    @Test func evaluateWarnsOnlyAboutNormalization() async throws {
        let dir = tempDir()
        let c = try await client(loading: ["bare": try bareModel(in: dir), "named": Self.fixture("tiny_seg.onnx")])
        let bare = try await c.call(1, "model/evaluate", ["id": "bare", "dataset": .string(Self.fixture("tinyseg"))])
        let warnings = bare["result"]?["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(warnings.count == 1 && warnings[0].contains("segslim.mean"))
        let named = try await c.call(2, "model/evaluate", ["id": "named", "dataset": .string(Self.fixture("tinyseg"))])
        #expect(named["result"] != nil && named["result"]?["warnings"] == nil)
        let latency = try #require(named["result"]?["latency"])
        #expect((latency["minMs"]?.doubleValue ?? .infinity) <= (latency["p50Ms"]?.doubleValue ?? -1))
    }
}
