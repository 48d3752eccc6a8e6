import Foundation
import SegProtocol
import SegServer
import SegTensor
import Testing

@Suite struct ModelMethodTests {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    func tempDir() -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func loadReportsInterfaceAndCounts() async throws {
        let c = TestClient()
        try await c.initialize()
        let r = try await c.call(1, "model/load", ["path": .string(Self.fixture("relu.onnx"))])
        let info = try #require(r["result"])
        #expect(info["id"] == "relu")
        #expect(info["inputs"] == [["name": "x", "dtype": "f32", "shape": [1, "n", 4]]])
        #expect(info["outputs"] == [["name": "y", "dtype": "f32", "shape": [1, "n", 4]]])
        #expect(info["opCounts"] == ["Relu": 1])
        #expect(info["opsets"] == ["ai.onnx": 17])
        #expect(info["params"] == 0)
        #expect(info["metadata"] == ["segslim.classes": "a,b"])
        #expect(info["path"] == .string(Self.fixture("relu.onnx")))
        #expect(info["sizeBytes"]?.intValue == Int64(try Data(contentsOf: URL(fileURLWithPath: Self.fixture("relu.onnx"))).count))

        #expect(try await c.call(2, "model/load", ["path": .string(Self.fixture("relu.onnx"))])["result"]?["id"] == "relu-2")
        let dup = try await c.call(3, "model/load", ["path": .string(Self.fixture("relu.onnx")), "id": "relu"])
        #expect(dup.errorCode == -32602)
        #expect(dup.errorMessage.contains("already resident"))
        let list = try await c.call(4, "model/list")["result"]?["models"]?.arrayValue ?? []
        #expect(list.compactMap { $0["id"]?.stringValue } == ["relu", "relu-2"])
        #expect(try await c.call(5, "server/status")["result"]?["models"] == 2)
        #expect(try await c.call(6, "model/info", ["id": "relu-2"])["result"]?["opCounts"] == ["Relu": 1])
    }

    /// tiny_conv_seg: Conv 3→4 3×3 (same padding) then Conv 4→3 1×1 on [1, 3, h, w]: 108 + 12
    /// multiply-accumulates per pixel. Its H and W are dynamic, so `model/load` cannot count
    /// them; the benchmark counts them at the shape it ran.
    @Test func benchmarkCountsMACsAtTheShapeItRan() async throws {
        let c = TestClient()
        try await c.initialize()
        let load = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        #expect(load["result"]?["macs"] == 0)
        let shapes: [(Int64, Int64)] = [(8, 8), (7, 9)]
        for (k, (h, w)) in shapes.enumerated() {
            let shape: JSONValue = [1, 3, .int(h), .int(w)]
            let r = try await c.call(Int64(2 + k), "model/benchmark", ["id": "m", "runs": 1, "warmup": 0, "inputShape": shape])
            let macs: Int64? = r["result"]?["macs"]?.intValue
            #expect(macs == 120 * h * w, "\(h)×\(w)")
        }
    }

    /// `profileSteps` says how many of the slowest steps a profile lists (0: every step, the
    /// plan's length), and a negative count is an invalid-params error naming it.
    @Test func benchmarkProfileListsAsManyStepsAsAsked() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let shape: JSONValue = [1, 3, 8, 8]
        func steps(_ id: Int64, _ extra: [String: JSONValue]) async throws -> [JSONValue]? {
            var params: [String: JSONValue] = ["id": "m", "runs": 2, "warmup": 0, "inputShape": shape, "profile": true]
            params.merge(extra) { $1 }
            return try await c.call(id, "model/benchmark", .object(params))["result"]?["slowestSteps"]?.arrayValue
        }
        let all = try await steps(2, ["profileSteps": 0]) ?? []
        #expect(all.count >= 2, "\(all)")
        #expect(try await steps(3, ["profileSteps": 1])?.count == 1)
        #expect(try await steps(4, [:])?.count == min(all.count, 12))
        let bad = try await c.call(5, "model/benchmark", ["id": "m", "profile": true, "profileSteps": -1])
        #expect(bad.errorCode == -32602 && bad.errorMessage.contains("profileSteps"), "\(bad)")
    }

    /// After a segment request compiled the model's plan for an image's shape, a benchmark at
    /// that shape times that plan (and reports its compile time); given `threads`, or at
    /// another shape, it compiles its own as before.
    @Test func benchmarkTimesTheResidentPlanSegmentRuns() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_seg.onnx")), "id": "m"])
        let shape: JSONValue = [1, 3, 6, 9]   // tinyseg/images/s0.png is 9 wide, 6 high
        let before = try await c.call(2, "model/benchmark", ["id": "m", "runs": 1, "warmup": 0, "inputShape": shape])
        #expect(before["result"]?["residentPlan"] == false, "\(before)")
        let seg = try await c.call(3, "model/segment", ["id": "m", "images": [.string(Self.fixture("tinyseg/images/s0.png"))], "overlay": false])
        #expect(seg["result"]?["results"]?.arrayValue?.first?["width"] == 9, "\(seg)")
        let after = try await c.call(4, "model/benchmark", ["id": "m", "runs": 1, "warmup": 0, "inputShape": shape])
        #expect(after["result"]?["residentPlan"] == true, "\(after)")
        #expect((after["result"]?["loadMs"]?.doubleValue ?? 0) > 0)
        let ownThreads = try await c.call(5, "model/benchmark", ["id": "m", "runs": 1, "warmup": 0, "inputShape": shape, "threads": 1])
        #expect(ownThreads["result"]?["residentPlan"] == false)
        let otherShape = try await c.call(6, "model/benchmark", ["id": "m", "runs": 1, "warmup": 0, "inputShape": [1, 3, 12, 9]])
        #expect(otherShape["result"]?["residentPlan"] == false)
    }

    @Test func badPathsAndFilesAreClearErrors() async throws {
        let c = TestClient()
        try await c.initialize()
        let missing = try await c.call(1, "model/load", ["path": "/no/such/model.onnx"])
        #expect(missing.errorCode == -33001)
        #expect(missing.errorMessage.contains("/no/such/model.onnx"))
        let dir = try await c.call(2, "model/load", ["path": .string(Self.fixtures.path)])
        #expect(dir.errorCode == -33001)

        let tmp = tempDir()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("relu.onnx")))
        let cut = tmp.appendingPathComponent("cut.onnx")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        let corrupt = try await c.call(3, "model/load", ["path": .string(cut.path)])
        #expect(corrupt.errorCode == -33002)
        #expect(corrupt.errorMessage.contains(cut.path))
        let garbage = tmp.appendingPathComponent("garbage.onnx")
        try Data("this is not a model".utf8).write(to: garbage)
        #expect(try await c.call(4, "model/load", ["path": .string(garbage.path)]).errorCode == -33002)
        #expect(try await c.call(5, "model/list")["result"] == ["models": []])
    }

    @Test func unsupportedOperatorsAreListedAtLoad() async throws {
        let c = TestClient()
        try await c.initialize()
        let r = try await c.call(1, "model/load", ["path": .string(Self.fixture("unsupported.onnx"))])
        #expect(r.errorCode == -33003)
        #expect(r.errorMessage.contains("com.example Frobnicate"))
        let uses = r["error"]?["data"]?["unsupported"]?.arrayValue ?? []
        #expect(uses.count == 1)
        #expect(uses.first?["nodes"] == ["'custom_0' (Frobnicate)", "'custom_1' (Frobnicate)"])
        #expect(uses.first?["opType"] == "Frobnicate")
        #expect(try await c.call(2, "model/list")["result"] == ["models": []])
    }

    @Test func runMatchesONNXRuntimeWithFilesAndInlineTensors() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("relu.onnx")), "id": "m"])
        let out = tempDir().appendingPathComponent("nested/out")
        let r = try await c.call(2, "model/run", ["id": "m", "inputs": ["x": ["npy": .string(Self.fixture("relu.input.npy"))]], "outputDir": .string(out.path)])
        let outputs = try #require(r["result"]?["outputs"]?.arrayValue)
        #expect(outputs.count == 1)
        #expect(outputs[0]["name"] == "y")
        #expect(outputs[0]["shape"] == [1, 2, 4])
        let path = try #require(outputs[0]["path"]?.stringValue)
        #expect(path == out.appendingPathComponent("y.npy").path)
        let expected = try Tensor(contentsOfNPY: URL(fileURLWithPath: Self.fixture("relu.output.npy")))
        #expect(try Tensor(contentsOfNPY: URL(fileURLWithPath: path)) == expected)

        let input = try Tensor(contentsOfNPY: URL(fileURLWithPath: Self.fixture("relu.input.npy")))
        let inline = try await c.call(3, "model/run", ["id": "m", "inputs": ["x": ["dtype": "f32", "shape": [1, 2, 4], "data": .string(Data(input.bytes).base64EncodedString())]]])
        let data = try #require(inline["result"]?["outputs"]?.arrayValue?.first?["data"]?.stringValue)
        #expect(Data(base64Encoded: data).map { [UInt8]($0) } == expected.bytes)
    }

    @Test func badRunInputsNameTheInput() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("relu.onnx")), "id": "m"])
        let wrongType = try await c.call(2, "model/run", ["id": "m", "inputs": ["x": ["dtype": "i64", "shape": [1, 1, 4], "data": .string(Data(count: 32).base64EncodedString())]]])
        #expect(wrongType.errorCode == -32602)
        #expect(wrongType.errorMessage.contains("'x'"))
        let unknown = try await c.call(3, "model/run", ["id": "m", "inputs": ["nope": ["dtype": "f32", "shape": [1], "data": "AAAAAA=="]]])
        #expect(unknown.errorMessage.contains("no input 'nope'"))
        let missing = try await c.call(4, "model/run", ["id": "m", "inputs": [:]])
        #expect(missing.errorMessage.contains("'x' was not given"))
        let short = try await c.call(5, "model/run", ["id": "m", "inputs": ["x": ["dtype": "f32", "shape": [1, 2, 4], "data": "AAAA"]]])
        #expect(short.errorCode == -32602)
        #expect(short.errorMessage.contains("params.inputs.x"))
        let badNpy = try await c.call(6, "model/run", ["id": "m", "inputs": ["x": ["npy": .string(Self.fixture("relu.onnx"))]]])
        #expect(badNpy.errorCode == -32602)
        #expect(try await c.call(7, "model/run", ["id": "zzz", "inputs": [:]]).errorCode == -33004)
    }

    @Test func exportNeverOverwritesUnlessAsked() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("relu.onnx")), "id": "m"])
        let target = tempDir().appendingPathComponent("sub/out.onnx")
        let r = try await c.call(2, "model/export", ["id": "m", "path": .string(target.path)])
        #expect(r["result"]?["path"] == .string(target.path))
        let again = try await c.call(3, "model/export", ["id": "m", "path": .string(target.path)])
        #expect(again.errorCode == -33008)
        #expect(try await c.call(4, "model/export", ["id": "m", "path": .string(target.path), "overwrite": true])["result"] != nil)
        let reloaded = try await c.call(5, "model/load", ["path": .string(target.path), "id": "again"])
        #expect(reloaded["result"]?["inputs"] == [["name": "x", "dtype": "f32", "shape": [1, "n", 4]]])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: target.deletingLastPathComponent().path)
        #expect(leftovers == ["out.onnx"])
    }

    @Test func unloadFreesAndBudgetRefusesWithoutEvicting() async throws {
        let c = TestClient(core: ServerCore(configuration: .init(memoryBudgetBytes: 6000)))
        try await c.initialize()
        #expect(try await c.call(1, "model/load", ["path": .string(Self.fixture("relu.onnx")), "id": "a"])["result"] != nil)
        let over = try await c.call(2, "model/load", ["path": .string(Self.fixture("relu.onnx")), "id": "b"])
        #expect(over.errorCode == -33006)
        #expect(try await c.call(3, "model/list")["result"]?["models"]?.arrayValue?.count == 1)
        #expect(try await c.call(4, "model/unload", ["id": "a"])["result"]?["id"] == "a")
        #expect(try await c.call(5, "model/unload", ["id": "a"]).errorCode == -33004)
        #expect(try await c.call(6, "model/load", ["path": .string(Self.fixture("relu.onnx")), "id": "b"])["result"] != nil)
    }
}
