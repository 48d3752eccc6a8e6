import Foundation
import SegGraph
import SegProtocol
import SegServer
import SegTechnique
import SegTestSupport
import Testing

/// A technique that exists only in the tests: while it "works" it creates a file at the path it
/// is given, as a user or another program might while a long compression runs.
struct CreateFileTechnique: Technique {
    static let descriptor = TechniqueDescriptor(
        id: "create-file",
        summary: "Creates a file while running (test only)",
        parameters: [
            "type": "object",
            "properties": ["path": ["type": "string", "description": "file to create"]],
            "required": ["path"],
            "additionalProperties": false,
        ],
        needs: [])

    let path: String

    init(parameters: JSONValue) throws(TechniqueError) {
        guard let p = parameters["path"]?.stringValue else { throw .invalidParameter(name: "path", reason: "required string is missing") }
        path = p
    }

    func apply(to model: Model, in context: TechniqueContext) async throws -> TechniqueResult {
        try Data("created meanwhile".utf8).write(to: URL(fileURLWithPath: path))
        return TechniqueResult(model: model)
    }
}

/// Nothing overwritten that the user did not ask to overwrite, nothing left behind.
@Suite struct OutputSafetyTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    func tempDir() -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-out-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func contents(_ dir: URL) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

    func client() async throws -> TestClient {
        let registry = try TechniqueRegistry(TechniqueRegistry.builtIn.techniques + [CreateFileTechnique.self])
        let c = TestClient(core: ServerCore(configuration: .init(enableDebugMethods: true), registry: registry))
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_seg.onnx")), "id": "m"])
        return c
    }

    /// The output path is free when the request starts; a file appears there (or at the report's
    /// path) while the technique runs. It is not replaced, and neither the model nor the report
    /// is published: both or neither.
    @Test(arguments: ["out.onnx", "out.onnx.report.json"])
    func compressDoesNotReplaceAFileCreatedWhileItRan(_ createdName: String) async throws {
        let c = try await client()
        let dir = tempDir()
        let out = dir.appendingPathComponent("out.onnx"), created = dir.appendingPathComponent(createdName)
        let r = try await c.call(2, "model/compress", ["id": "m", "technique": "create-file", "params": ["path": .string(created.path)],
                                                       "outputPath": .string(out.path), "benchmarkRuns": 0])
        #expect(r.errorCode == -33008, "\(r)")
        #expect(r.errorMessage.contains(created.path))
        #expect(try String(contentsOf: created, encoding: .utf8) == "created meanwhile")
        #expect(try contents(dir) == [createdName], "only the user's file, no model or report alone, no temporaries")
        let list = try await c.call(3, "model/list")["result"]?["models"]?.arrayValue ?? []
        #expect(list.compactMap { $0["id"]?.stringValue } == ["m"])
    }

    @Test func compressWithOverwriteReplacesAFileCreatedWhileItRan() async throws {
        let c = try await client()
        let dir = tempDir()
        let out = dir.appendingPathComponent("out.onnx")
        let r = try await c.call(2, "model/compress", ["id": "m", "technique": "create-file", "params": ["path": .string(out.path)],
                                                       "outputPath": .string(out.path), "benchmarkRuns": 0, "overwrite": true])
        #expect(r["result"]?["path"] == .string(out.path), "\(r)")
        #expect(try Data(contentsOf: out).count > 100)
        #expect(try contents(dir) == ["out.onnx", "out.onnx.report.json"])
    }

    @Test func segmentRefusesToReplaceOutputsUnlessAskedTo() async throws {
        let c = try await client()
        let dir = tempDir()
        let image = Self.fixture("tinyseg/images/s0.png")
        let first = try await c.call(2, "model/segment", ["id": "m", "images": [.string(image)], "outputDir": .string(dir.path), "legend": true])
        #expect(first["result"] != nil, "\(first)")
        #expect(try contents(dir) == ["legend.png", "s0.mask.png", "s0.overlay.png"])
        // The user edits the mask; a second run must not replace it silently.
        let mask = dir.appendingPathComponent("s0.mask.png")
        try Data("edited by hand".utf8).write(to: mask)
        let again = try await c.call(3, "model/segment", ["id": "m", "images": [.string(image)], "outputDir": .string(dir.path)])
        #expect(again.errorCode == -33008, "\(again)")
        #expect(again.errorMessage.contains("s0.mask.png"))
        #expect(try String(contentsOf: mask, encoding: .utf8) == "edited by hand")
        // A legend alone is refused too.
        let legend = try await c.call(4, "model/segment", ["id": "m", "images": [.string(image)], "outputDir": .string(dir.path),
                                                           "mask": false, "overlay": false, "legend": true])
        #expect(legend.errorCode == -33008)
        let forced = try await c.call(5, "model/segment", ["id": "m", "images": [.string(image)], "outputDir": .string(dir.path), "overwrite": true])
        #expect(forced["result"] != nil, "\(forced)")
        #expect(try Data(contentsOf: mask).starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(try contents(dir) == ["legend.png", "s0.mask.png", "s0.overlay.png"])
    }

    /// The CLI's `segment` refuses to replace its earlier outputs unless `--overwrite`.
    @Test(.requires(Binaries.requirement))
    func cliSegmentNeedsOverwriteToReplace() throws {
        let cli = try #require(Binaries.cli)
        let dir = tempDir()
        let args = ["segment", Self.fixture("tiny_seg.onnx"), Self.fixture("tinyseg/images/s0.png"), "--out", dir.path]
        let first = try runProcess(cli, args)
        #expect(first.status == 0, "\(first.stderr)")
        let mask = dir.appendingPathComponent("s0.mask.png")
        let written = try Data(contentsOf: mask)
        try Data("edited".utf8).write(to: mask)
        let again = try runProcess(cli, args)
        #expect(again.status != 0)
        #expect(again.stderr.contains("exists"), "\(again.stderr)")
        #expect(try String(contentsOf: mask, encoding: .utf8) == "edited")
        let forced = try runProcess(cli, args + ["--overwrite"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try Data(contentsOf: mask) == written)
    }

    /// A NUL in a name: C would cut the path at it. Refused before anything is written.
    @Test func namesTheOSWouldMisreadLeaveNothingBehind() async throws {
        let c = try await client()
        let dir = tempDir()
        let bad = dir.path + "/a\u{0}b.onnx"
        let exported = try await c.call(2, "model/export", ["id": "m", "path": .string(bad)])
        #expect(exported.errorCode == -32602, "\(exported)")
        #expect(exported.errorMessage.contains("NUL"))
        let compressed = try await c.call(3, "model/compress", ["id": "m", "technique": "fuse", "outputPath": .string(bad), "benchmarkRuns": 0])
        #expect(compressed.errorCode == -32602, "\(compressed)")
        let long = try await c.call(4, "model/export", ["id": "m", "path": .string(dir.path + "/" + String(repeating: "x", count: 300) + ".onnx")])
        #expect(long.errorCode == -32602, "\(long)")
        // An inline image whose name has a NUL: its outputs get a name the OS takes.
        let png = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("tinyseg/images/s0.png")))
        let seg = try await c.call(5, "model/segment", ["id": "m", "images": [["data": .string(png.base64EncodedString()), "name": "a\u{0}b.png"]],
                                                        "outputDir": .string(dir.path), "overlay": false])
        #expect(seg["result"]?["results"]?.arrayValue?.first?["mask"] == .string(dir.appendingPathComponent("a_b.mask.png").path), "\(seg)")
        #expect(try contents(dir) == ["a_b.mask.png"])
    }

    /// Temporaries left by a daemon killed mid-write are removed the next time a daemon writes
    /// into that folder; other files, and temporaries of running processes, stay.
    @Test func staleTemporariesOfDeadDaemonsAreRemovedOnTheNextWrite() async throws {
        let c = try await client()
        let dir = tempDir()
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let stale = ".segslim-tmp-\(dead.processIdentifier)-1f2e-out.onnx"
        let live = ".segslim-tmp-\(getpid())-3c4d-in-use.onnx"
        for name in [stale, live, ".hidden", "notes.txt"] {
            try Data("x".utf8).write(to: dir.appendingPathComponent(name))
        }
        let r = try await c.call(2, "model/export", ["id": "m", "path": .string(dir.appendingPathComponent("m.onnx").path)])
        #expect(r["result"] != nil, "\(r)")
        #expect(try contents(dir) == [".hidden", live, "m.onnx", "notes.txt"].sorted())
    }
}
