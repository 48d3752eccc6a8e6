import Foundation
import SegProtocol
import SegONNX
import SegServer
import SegTensor
import Testing

/// `model/build` through the daemon: the student takes the teacher's classes and preprocessing,
/// becomes resident, is written once (never over a file without `overwrite`), and bad input
/// gets the error kinds the protocol page promises.
@Suite struct BuildMethodTests {
    static let teacher = ModelMethodTests.fixture("tiny_conv_seg.onnx")

    func tempDir() -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-build-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func studentTakesTheTeachersClassesAndPreprocessing() async throws {
        let c = TestClient()
        try await c.initialize()
        let out = tempDir().appendingPathComponent("student.onnx")
        let params: JSONValue = ["arch": "lraspp-mobilenetv3-small", "teacher": .string(Self.teacher), "inputSize": [64, 96],
                                 "outputPath": .string(out.path), "seed": 3, "newId": "s"]
        let r = try await c.call(1, "model/build", params)
        let result = try #require(r["result"], "\(r)")
        #expect(result["classes"] == 3)
        #expect(result["path"]?.stringValue == out.path)
        let model = try #require(result["model"])
        #expect(model["id"] == "s")
        #expect(model["outputs"]?.arrayValue?.first?["shape"] == [1, 3, 64, 96])
        #expect(model["metadata"]?["segslim.classes"]?.stringValue?.contains("middle") == true)
        #expect(model["metadata"]?["segslim.mean"]?.stringValue?.contains("0.5") == true)
        #expect(model["metadata"]?["segslim.palette"] != nil)
        #expect(model["metadata"]?["segslim.architecture"] == "lraspp-mobilenetv3-small")
        #expect(model["preprocessing"]?["classes"] == ["bright", "dark", "middle"])
        #expect((result["trainableParameters"]?.intValue ?? 0) > 1_000_000)

        // Resident, and the file on disk loads to the same graph.
        let info = try await c.call(2, "model/info", ["id": "s"])
        #expect(info["result"]?["params"] == model["params"])
        let loaded = try await c.call(3, "model/load", ["path": .string(out.path), "id": "reloaded"])
        #expect(loaded["result"]?["opCounts"] == model["opCounts"])

        // The same request writes the same bytes, and never over a file without overwrite.
        let again = try await c.call(5, "model/build", params)
        #expect(again["error"]?["code"] == -33008, "\(again)")
        let second = out.deletingLastPathComponent().appendingPathComponent("second.onnx")
        var p2 = params.objectValue ?? [:]
        p2["outputPath"] = .string(second.path)
        p2["newId"] = "s2"
        _ = try await c.call(6, "model/build", .object(p2))
        #expect(try Data(contentsOf: out) == Data(contentsOf: second))
        p2["overwrite"] = true
        p2["newId"] = "s3"
        p2["seed"] = 4
        let overwritten = try await c.call(7, "model/build", .object(p2))
        #expect(overwritten["result"] != nil, "\(overwritten)")
        #expect(try Data(contentsOf: out) != Data(contentsOf: second))
    }

    @Test func badInputIsRefusedWithTheField() async throws {
        let c = TestClient()
        try await c.initialize()
        let dir = tempDir()
        let out = dir.appendingPathComponent("s.onnx").path
        func call(_ id: Int64, _ p: JSONValue) async throws -> JSONValue { try await c.call(id, "model/build", p) }

        let unknown = try await call(1, ["arch": "resnet50", "classes": 3, "outputPath": .string(out)])
        #expect(unknown["error"]?["code"] == -32602)
        #expect(unknown["error"]?["message"]?.stringValue?.contains("lraspp-ghostnet") == true, "\(unknown)")
        let zero = try await call(2, ["arch": "lraspp-ghostnet", "classes": 0, "outputPath": .string(out)])
        #expect(zero["error"]?["message"]?.stringValue?.contains("params.classes") == true, "\(zero)")
        let absurd = try await call(3, ["arch": "lraspp-ghostnet", "classes": 1_000_000, "outputPath": .string(out)])
        #expect(absurd["error"]?["code"] == -32602)
        let width = try await call(4, ["arch": "lraspp-mobilenetv3-large", "classes": 3, "width": 5, "outputPath": .string(out)])
        #expect(width["error"]?["message"]?.stringValue?.contains("params.width") == true, "\(width)")
        let mismatch = try await call(5, ["arch": "lraspp-ghostnet", "classes": 4, "teacher": .string(Self.teacher), "outputPath": .string(out)])
        #expect(mismatch["error"]?["code"] == -32602)
        #expect(mismatch["error"]?["message"]?.stringValue?.contains("3 classes") == true, "\(mismatch)")
        let noTeacher = try await call(6, ["arch": "lraspp-ghostnet", "teacher": .string(dir.appendingPathComponent("none.onnx").path),
                                           "outputPath": .string(out)])
        #expect(noTeacher["error"]?["code"] == -33001, "\(noTeacher)")
        let corrupt = dir.appendingPathComponent("corrupt.onnx")
        try Data("not a model at all".utf8).write(to: corrupt)
        let bad = try await call(7, ["arch": "lraspp-ghostnet", "teacher": .string(corrupt.path), "outputPath": .string(out)])
        #expect(bad["error"]?["code"] == -33002, "\(bad)")
        let folder = try await call(8, ["arch": "lraspp-ghostnet", "classes": 3,
                                        "outputPath": .string(dir.appendingPathComponent("missing/s.onnx").path)])
        #expect(folder["error"]?["code"] == -33001, "\(folder)")
        let noClasses = try await call(9, ["arch": "lraspp-ghostnet", "outputPath": .string(out)])
        #expect(noClasses["error"]?["message"]?.stringValue?.contains("params.classes") == true)
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written on bad input")
        let list = try await c.call(10, "model/list")
        #expect(list["result"]?["models"]?.arrayValue?.isEmpty == true, "nothing resident on bad input: \(list)")
    }

    @Test func listNamesEveryArchitectureWithItsSize() async throws {
        let c = TestClient()
        try await c.initialize()
        let r = try await c.call(1, "model/build", ["list": true])
        let archs = try #require(r["result"]?["architectures"]?.arrayValue, "\(r)")
        #expect(archs.count == 7)
        let small = try #require(archs.first { $0["name"] == "lraspp-mobilenetv3-small" })
        #expect(small["parameters"] == 1_088_782)
        #expect((small["macs"]?.intValue ?? 0) > 300_000_000)
    }

    @Test func slimStudentInheritsTheTeachersFiltersAtTheWidth() async throws {
        let c = TestClient()
        try await c.initialize()
        let dir = tempDir()
        let teacherPath = dir.appendingPathComponent("teacher.onnx").path
        let built = try await c.call(1, "model/build", ["arch": "lraspp-mobilenetv3-small", "classes": 4, "inputSize": [64, 64],
                                                        "outputPath": .string(teacherPath), "newId": "teacher", "seed": 9])
        #expect(built["result"] != nil, "\(built)")
        let slimPath = dir.appendingPathComponent("slim.onnx").path
        // The teacher by its resident id.
        let r = try await c.call(2, "model/build", ["arch": "slim", "teacher": "teacher", "width": 0.5, "outputPath": .string(slimPath)])
        let result = try #require(r["result"], "\(r)")
        #expect(result["classes"] == 4)
        #expect(result["model"]?["metadata"]?["segslim.architecture"] == "slim")
        #expect(result["model"]?["outputs"]?.arrayValue?.first?["shape"] == [1, 4, 64, 64])
        let teacherParams = try #require(built["result"]?["model"]?["params"]?.intValue)
        let slimParams = try #require(result["model"]?["params"]?.intValue)
        #expect(slimParams < teacherParams * 6 / 10, "\(slimParams) of \(teacherParams)")

        // The first conv keeps 8 of its 16 filters, as they were and in their order (which 8 is
        // the prune plugin's choice over the coupled group: this conv, the depthwise and SE after it).
        let teacher = try ONNX.load(contentsOf: URL(fileURLWithPath: teacherPath))
        let slim = try ONNX.load(contentsOf: URL(fileURLWithPath: slimPath))
        let t = try #require(teacher.graph.initializers["backbone.0.0.weight"])
        let w = try #require(slim.graph.initializers["backbone.0.0.weight"])
        #expect(w.dims == [8, 3, 3, 3])
        let tv = try t.scalars(as: Float.self), wv = try w.scalars(as: Float.self)
        let rows = (0..<16).map { Array(tv[$0 * 27..<($0 + 1) * 27]) }
        var sources: [Int] = []
        for o in 0..<8 {
            let row = Array(wv[o * 27..<(o + 1) * 27])
            sources.append(try #require(rows.firstIndex(of: row), "slim filter \(o) is not a teacher filter"))
        }
        #expect(sources == sources.sorted() && Set(sources).count == 8, "\(sources)")

        let noTeacher = try await c.call(3, "model/build", ["arch": "slim", "classes": 4, "width": 0.5, "outputPath": .string(slimPath + "2")])
        #expect(noTeacher["error"]?["message"]?.stringValue?.contains("params.teacher") == true, "\(noTeacher)")
        let narrow = try await c.call(4, "model/build", ["arch": "slim", "teacher": "teacher", "width": 0.05, "outputPath": .string(slimPath + "3")])
        #expect(narrow["error"]?["message"]?.stringValue?.contains("params.width") == true, "\(narrow)")
    }
}
