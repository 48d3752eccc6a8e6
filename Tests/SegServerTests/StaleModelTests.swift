import Foundation
import SegProtocol
import SegServer
import SegTestSupport
import Testing

/// A warm daemon asked for a model by path notices when the file at that path was replaced.
@Suite struct StaleModelTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    func ids(_ c: TestClient, _ n: Int64) async throws -> [String] {
        (try await c.call(n, "model/list")["result"]?["models"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
    }

    @Test func reuseAnswersTheResidentModelUntilItsFileIsReplaced() async throws {
        let c = TestClient()
        try await c.initialize()
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-stale-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("model.onnx")
        try FileManager.default.copyItem(atPath: Self.fixture("relu.onnx"), toPath: path.path)

        let first = try await c.call(1, "model/load", ["path": .string(path.path), "reuse": true])
        #expect(first["result"]?["id"] == "model", "\(first)")
        #expect(first["result"]?["opCounts"] == ["Relu": 1])
        let again = try await c.call(2, "model/load", ["path": .string(path.path), "reuse": true])
        #expect(again["result"]?["id"] == "model")
        #expect(again["result"]?["warnings"]?.arrayValue?.contains { $0.stringValue?.contains("reloaded") == true } != true)
        #expect(try await ids(c, 3) == ["model"])

        // Replaced by rename (a new inode), as `cp new.onnx model.onnx.tmp && mv` would.
        let replacement = dir.appendingPathComponent("new.onnx")
        try FileManager.default.copyItem(atPath: Self.fixture("fusable.onnx"), toPath: replacement.path)
        #expect(rename(replacement.path, path.path) == 0)
        let reloaded = try await c.call(4, "model/load", ["path": .string(path.path), "reuse": true])
        #expect(reloaded["result"]?["id"] == "model", "\(reloaded)")
        #expect(reloaded["result"]?["opCounts"] != ["Relu": 1])
        #expect(reloaded["result"]?["opCounts"]?["BatchNormalization"] == 1)
        #expect(reloaded["result"]?["warnings"]?.arrayValue?.contains { $0.stringValue?.contains("file changed") == true } == true)
        #expect(try await c.call(5, "model/info", ["id": "model"])["result"]?["opCounts"]?["BatchNormalization"] == 1)
        #expect(try await ids(c, 6) == ["model"])

        // Rewritten in place (same inode, other size and time).
        try Data(contentsOf: URL(fileURLWithPath: Self.fixture("relu.onnx"))).write(to: path)
        let rewritten = try await c.call(7, "model/load", ["path": .string(path.path), "reuse": true])
        #expect(rewritten["result"]?["opCounts"] == ["Relu": 1], "\(rewritten)")

        // Gone: an error that names the file, and the resident model is left as it was.
        try FileManager.default.removeItem(at: path)
        let gone = try await c.call(8, "model/load", ["path": .string(path.path), "reuse": true])
        #expect(gone.errorCode == -33001)
        #expect(gone.errorMessage.contains(path.path))
        #expect(try await ids(c, 9) == ["model"])

        // Without reuse, a load is another copy, as before.
        let copy = try await c.call(10, "model/load", ["path": .string(Self.fixture("relu.onnx"))])
        #expect(copy["result"]?["id"] == "relu")
        #expect(try await c.call(11, "model/load", ["path": .string(Self.fixture("relu.onnx")), "reuse": true, "preprocessing": ["scale": 1]]).errorCode == -32602)
    }
}

/// The reproduction from the issue: `segslim info` against a warm daemon, the file replaced,
/// `segslim info` again must describe the new file.
@Suite(.requires(Binaries.requirement))
struct StaleModelCLITests {
    @Test func warmDaemonServesTheReplacedFile() throws {
        let daemon = try #require(Binaries.daemon), cli = try #require(Binaries.cli)
        let socket = "/tmp/segslim-stale-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: daemon)
        p.arguments = ["--listen", "unix:\(socket)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: socket), Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }

        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-stale-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let model = dir.appendingPathComponent("model.onnx")
        try FileManager.default.copyItem(atPath: StaleModelTests.fixture("relu.onnx"), toPath: model.path)
        func info() throws -> JSONValue {
            let out = try runProcess(cli, ["--json", "--connect", "unix:\(socket)", "info", model.path])
            #expect(out.status == 0, "\(out.stderr)")
            return try JSONParser.parse(out.stdout)
        }
        #expect(try info()["opCounts"] == ["Relu": 1])
        #expect(try info()["opCounts"] == ["Relu": 1])
        let next = dir.appendingPathComponent("next.onnx")
        try FileManager.default.copyItem(atPath: StaleModelTests.fixture("fusable.onnx"), toPath: next.path)
        #expect(rename(next.path, model.path) == 0)
        let replaced = try info()
        #expect(replaced["opCounts"]?["BatchNormalization"] == 1, "\(replaced)")
        #expect(replaced["id"] == "model")
    }
}
