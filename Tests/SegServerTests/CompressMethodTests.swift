import Foundation
import SegProtocol
import SegServer
import SegTensor
import Testing

@Suite struct CompressMethodTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    func tempDir() -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-compress-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func maxDifference(_ a: Tensor, _ b: Tensor) throws -> Float {
        let x = try a.scalars(as: Float.self), y = try b.scalars(as: Float.self)
        return zip(x, y).map { abs($0 - $1) / (1e-5 / 1e-4 + abs($1)) }.max() ?? 0
    }

    @Test func fuseRewritesAndKeepsOutputsEqualToONNXRuntime() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("fusable.onnx")), "id": "m"])
        let out = tempDir().appendingPathComponent("fused.onnx")
        let r = try await c.call(2, "model/compress", ["id": "m", "technique": "fuse", "outputPath": .string(out.path), "newId": "fused"])
        let result = try #require(r["result"], "\(r)")
        #expect(result["id"] == "fused")
        let report = try #require(result["report"])
        let rewrites = try #require(report["steps"]?.arrayValue?.first?["details"]?["rewrites"])
        #expect(rewrites["foldBatchNorm"] == 1)
        #expect(rewrites["eliminateIdentity"] == 2)
        #expect((rewrites["foldConstants"]?.intValue ?? 0) >= 3)  // Shape, Gather, Concat
        let after = report["after"]?["opCounts"]?.objectValue ?? [:]
        #expect(Set(after.keys) == ["Conv", "Relu", "Reshape"])
        #expect(report["before"]?["opCounts"]?["BatchNormalization"] == 1)

        // The written file carries its provenance and runs like ORT ran the original.
        let info = try await c.call(3, "model/load", ["path": .string(out.path), "id": "reloaded"])
        let meta = try #require(info["result"]?["metadata"])
        #expect(meta["segslim.technique"] == "fuse")
        #expect(meta["segslim.source_sha256"]?.stringValue?.count == 64)
        // Named by file name only: a shared model does not carry the maker's directory layout.
        #expect(meta["segslim.source"] == "fusable.onnx")
        #expect(FileManager.default.fileExists(atPath: out.path + ".report.json"))
        let expected = try Tensor(contentsOfNPY: URL(fileURLWithPath: Self.fixture("fusable.output.npy")))
        for (id, engine) in [("reloaded", "runtime"), ("reloaded", "reference"), ("fused", "runtime")] {
            let dir = tempDir()
            let run = try await c.call(4, "model/run", ["id": .string(id), "engine": .string(engine),
                                                       "inputs": ["x": ["npy": .string(Self.fixture("fusable.input.npy"))]], "outputDir": .string(dir.path)])
            let path = try #require(run["result"]?["outputs"]?.arrayValue?.first?["path"]?.stringValue, "\(run)")
            let actual = try Tensor(contentsOfNPY: URL(fileURLWithPath: path))
            #expect(actual.dims == expected.dims)
            #expect(try maxDifference(actual, expected) <= 1e-4, "\(id) on \(engine)")
        }
        // The original is untouched and still resident.
        #expect(try await c.call(5, "model/info", ["id": "m"])["result"]?["opCounts"]?["BatchNormalization"] == 1)
    }

    @Test func compressRefusesBadRequestsWithoutSideEffects() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("fusable.onnx")), "id": "m"])
        let unknown = try await c.call(2, "model/compress", ["id": "m", "technique": "teleport"])
        #expect(unknown.errorCode == -32602)
        #expect(unknown.errorMessage.contains("unknown technique 'teleport'"))
        let badParam = try await c.call(3, "model/compress", ["id": "m", "technique": "fuse", "params": ["foldBatchNorm": "yes"]])
        #expect(badParam.errorCode == -32602)
        #expect(badParam.errorMessage.contains("foldBatchNorm"))
        let dir = tempDir()
        let existing = dir.appendingPathComponent("keep.onnx")
        try Data("user's file".utf8).write(to: existing)
        let exists = try await c.call(4, "model/compress", ["id": "m", "technique": "fuse", "outputPath": .string(existing.path)])
        #expect(exists.errorCode == -33008)
        #expect(try String(contentsOf: existing, encoding: .utf8) == "user's file")
        let list = try await c.call(5, "model/list")["result"]?["models"]?.arrayValue ?? []
        #expect(list.compactMap { $0["id"]?.stringValue } == ["m"])
        let ok = try await c.call(6, "model/compress", ["id": "m", "technique": "fuse", "outputPath": .string(existing.path), "overwrite": true])
        #expect(ok["result"]?["id"] == "m-fuse")
        #expect(try Data(contentsOf: existing).count > 100)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["keep.onnx", "keep.onnx.report.json"])
    }

    @Test func pipelineRunsStepsInOrder() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("fusable.onnx")), "id": "m"])
        let r = try await c.call(2, "model/pipeline", ["id": "m", "steps": [
            ["technique": "fuse", "params": ["foldBatchNorm": false]], ["technique": "fuse"],
        ]])
        let steps = r["result"]?["report"]?["steps"]?.arrayValue ?? []
        #expect(steps.count == 2)
        let firstRewrites = try #require(steps.first?["details"]?["rewrites"]?.objectValue, "\(steps)")
        #expect(firstRewrites["foldBatchNorm"] == nil, "\(firstRewrites)")
        #expect(steps.last?["details"]?["rewrites"]?["foldBatchNorm"] == 1)
        #expect(r["result"]?["report"]?["technique"] == "fuse+fuse")
    }
}

@Suite struct ConcurrentRunTests {
    /// Many model/run requests in flight on one model (one compiled plan, an arena each) all
    /// answer with their own input's result, equal to the reference executor's.
    @Test func concurrentRunsOnOneModelAreEachCorrect() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(CompressMethodTests.fixture("fusable.onnx")), "id": "m"])
        var inputs: [Int64: String] = [:]
        for k in 0..<8 {
            let values = (0..<(3 * 64)).map { Float(($0 * (k + 3)) % 17) / 4 - 2 }
            let data = values.withUnsafeBufferPointer { Data(buffer: $0) }.base64EncodedString()
            inputs[Int64(10 + k)] = data
        }
        for (id, data) in inputs {
            c.send(.object(["jsonrpc": "2.0", "id": .int(id), "method": "model/run",
                            "params": ["id": "m", "inputs": ["x": ["dtype": "f32", "shape": [1, 3, 8, 8], "data": .string(data)]]]]))
            c.send(.object(["jsonrpc": "2.0", "id": .int(id + 100), "method": "model/run",
                            "params": ["id": "m", "engine": "reference", "inputs": ["x": ["dtype": "f32", "shape": [1, 3, 8, 8], "data": .string(data)]]]]))
        }
        for id in inputs.keys {
            let fast = try await c.response(.int(id))["result"]?["outputs"]?.arrayValue?.first?["data"]?.stringValue
            let reference = try await c.response(.int(id + 100))["result"]?["outputs"]?.arrayValue?.first?["data"]?.stringValue
            let a = try #require(fast.flatMap { Data(base64Encoded: $0) }).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let b = try #require(reference.flatMap { Data(base64Encoded: $0) }).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            #expect(a.count == b.count && a.count == 256)
            #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 + 1e-4 * abs($1) }, "request \(id)")
        }
    }
}
