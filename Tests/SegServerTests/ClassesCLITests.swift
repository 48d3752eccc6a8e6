import Foundation
import SegONNX
import SegProtocol
import SegTestSupport
import Testing

/// The CLI side of class names and warnings: `segment --dataset/--classes`, `annotate`,
/// warnings on stderr and under `warnings` with `--json`, usage errors as JSON, noisy timings.
@Suite(.requires(Binaries.requirement))
struct ClassesCLITests {
    let cli = Binaries.cli ?? ""
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    func temp() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("segslim-cli-classes-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    func bareModel(in dir: URL) throws -> String {
        var model = try ONNX.load(contentsOf: URL(fileURLWithPath: Self.fixture("tiny_seg.onnx")))
        model.metadata = [:]
        let url = dir.appendingPathComponent("bare.onnx")
        try ONNX.write(model, to: url)
        return url.path
    }

    @Test func usageErrorsWithJSONAreOneDocumentOnStdout() throws {
        for args in [["--json", "segment"], ["segment", "--json", "--frob"], ["--json", "segmnt"], ["--json"], ["annotate", "m.onnx", "--out", "x.onnx", "--json"]] {
            let r = try runProcess(cli, args)
            #expect(r.status == 2, "\(args)")
            let doc = try JSONParser.parse(r.stdout)
            #expect(doc["error"]?["kind"] == "usage", "\(args): \(r.stdoutText)")
            #expect(doc["error"]?["message"]?.stringValue?.isEmpty == false)
            #expect(doc["error"]?["usage"]?.stringValue?.hasPrefix("segslim") == true)
            #expect(r.stderr.isEmpty, "\(args): \(r.stderr)")
        }
        let named = try JSONParser.parse(try runProcess(cli, ["--json", "segmnt"]).stdout)
        #expect(named["error"]?["message"]?.stringValue?.contains("did you mean 'segment'") == true)
        let annotate = try JSONParser.parse(try runProcess(cli, ["annotate", "m.onnx", "--out", "x.onnx", "--json"]).stdout)
        #expect(annotate["error"]?["usage"]?.stringValue?.hasPrefix("segslim annotate") == true)
        // Without --json: words on stderr, nothing on stdout.
        let text = try runProcess(cli, ["segment"])
        #expect(text.status == 2 && text.stdout.isEmpty && text.stderr.contains("usage: segslim segment"))
        // A daemon that cannot start, with --json: one document too (exit 3).
        let gone = try runProcess(cli, ["--json", "info", Self.fixture("relu.onnx")], environment: ["SEGSLIMD": "/nonexistent/segslimd"])
        #expect(gone.status == 3)
        #expect(try JSONParser.parse(gone.stdout)["error"]?["kind"] == "connection")
    }

    @Test func segmentWarnsInCLIWordsAndTakesNamesFromADataset() throws {
        let dir = try temp()
        let model = try bareModel(in: dir), image = Self.fixture("tinyseg/images/s0.png")
        let bare = try runProcess(cli, ["--json", "--quiet", "segment", model, image, "--out", dir.appendingPathComponent("a").path])
        #expect(bare.status == 0, "\(bare.stderr)")
        let warnings = try JSONParser.parse(bare.stdout)["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(warnings.count == 2)
        #expect(warnings.allSatisfy { $0.contains("segslim annotate") && !$0.contains("model/annotate") && !$0.contains("params.") })
        let lines = bare.stderr.split(separator: "\n").filter { $0.hasPrefix("segslim: warning: ") }
        #expect(lines.count == 2 && lines.contains { $0.contains("--classes") })

        for option in ["--dataset", "--classes"] {
            let source = option == "--dataset" ? Self.fixture("tinyseg") : Self.fixture("tinyseg/dataset.json")
            let r = try runProcess(cli, ["--json", "--quiet", "segment", model, image, "--out", dir.appendingPathComponent("b").path, "--overwrite", option, source])
            #expect(r.status == 0, "\(r.stderr)")
            let doc = try JSONParser.parse(r.stdout)
            let names = doc["results"]?.arrayValue?.first?["classes"]?.arrayValue?.compactMap { $0["class"]?.stringValue } ?? []
            #expect(!names.isEmpty && names.allSatisfy { ["bright", "dark", "middle"].contains($0) })
            #expect(doc["warnings"]?.arrayValue?.count == 1)
        }
        let both = try runProcess(cli, ["segment", model, image, "--out", dir.path, "--dataset", "x", "--classes", "y"])
        #expect(both.status == 2 && both.stderr.contains("not both"))
    }

    @Test func annotateWritesACopyLaterSegmentsNeedNoFlagsFor() throws {
        let dir = try temp()
        let model = try bareModel(in: dir), out = dir.appendingPathComponent("annotated.onnx").path
        let args = ["annotate", model, "--classes-from", Self.fixture("tinyseg"), "--mean", "0.5,0.5,0.5", "--std", "[0.25, 0.25, 0.25]", "--out", out]
        let r = try runProcess(cli, args)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdoutText.contains("wrote \(out)") && r.stdoutText.contains("segslim.classes"))
        let seg = try runProcess(cli, ["--json", "--quiet", "segment", out, Self.fixture("tinyseg/images/s1.png"), "--out", dir.appendingPathComponent("s").path])
        let doc = try JSONParser.parse(seg.stdout)
        #expect(seg.status == 0 && doc["warnings"] == nil && seg.stderr.isEmpty, "\(seg.stderr)")
        #expect(doc["results"]?.arrayValue?.first?["classes"]?.arrayValue?.allSatisfy { $0["class"]?.stringValue?.hasPrefix("class ") == false } == true)

        let written = try Data(contentsOf: URL(fileURLWithPath: out))
        let again = try runProcess(cli, args)
        #expect(again.status == 1 && again.stderr.contains("--overwrite") && !again.stderr.contains("overwrite: true"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == written)
        #expect(try runProcess(cli, args + ["--overwrite"]).status == 0)
        let badMean = try runProcess(cli, ["annotate", model, "--mean", "1,2", "--out", out])
        #expect(badMean.status == 2 && badMean.stderr.contains("--mean needs three numbers"))
        let badSource = try runProcess(cli, ["annotate", model, "--classes-from", "/no/such/dataset-\(getpid())", "--out", out, "--overwrite"])
        #expect(badSource.status == 1 && badSource.stderr.contains("--classes-from"))
    }

    /// Whatever the machine's load, the flag and the warning follow the numbers reported: p50
    /// more than 1.25 × the fastest run.
    @Test func noisyTimingsAreFlaggedAsTheirNumbersSay() throws {
        // A model with static shapes (bench needs them).
        let bench = try runProcess(cli, ["--json", "bench", Self.fixture("fusable.onnx"), "--runs", "5", "--warmup", "1"])
        #expect(bench.status == 0, "\(bench.stderr)")
        let doc = try JSONParser.parse(bench.stdout)
        let row = try #require(doc["models"]?.arrayValue?.first)
        let p50 = try #require(row["p50Ms"]?.doubleValue), min = try #require(row["minMs"]?.doubleValue)
        let noisy = p50 > 1.25 * min
        #expect(row["noisy"] == .bool(noisy))
        #expect(bench.stderr.contains("is noisy") == noisy)
        #expect((doc["warnings"] != nil) == noisy)

        // Dynamic H and W: the size comes from --shape (the model's own channel count kept),
        // and without it the error says which flag to give.
        let sized = try runProcess(cli, ["--json", "bench", Self.fixture("tiny_conv_seg.onnx"), "--runs", "1", "--warmup", "1", "--shape", "8x7"])
        #expect(sized.status == 0, "\(sized.stderr)")
        let sizedRow = try JSONParser.parse(sized.stdout)["models"]?.arrayValue?.first
        #expect(sizedRow?["inputShapes"]?["x"] == [1, 3, 8, 7] || sizedRow?["inputShapes"]?.objectValue?.values.first == [1, 3, 8, 7], "\(sized.stdout)")
        let unsized = try runProcess(cli, ["bench", Self.fixture("tiny_conv_seg.onnx"), "--runs", "1"])
        #expect(unsized.status != 0 && unsized.stderr.contains("--shape HxW"), "\(unsized.stderr)")
        let badShape = try runProcess(cli, ["bench", Self.fixture("tiny_conv_seg.onnx"), "--shape", "8by7"])
        #expect(badShape.status != 0 && badShape.stderr.contains("--shape needs HxW"), "\(badShape.stderr)")

        let dir = try temp()
        let cmp = try runProcess(cli, ["--json", "--quiet", "compare", Self.fixture("tiny_seg.onnx"), Self.fixture("tiny_conv_seg.onnx"), "--dataset", Self.fixture("tinyseg"),
                                       "--out", dir.path, "--panels", "1"])
        #expect(cmp.status == 0, "\(cmp.stderr)")
        let c = try JSONParser.parse(cmp.stdout)
        #expect(c["panels"]?.arrayValue?.count == 1)
        for side in ["a", "b"] {
            let l = try #require(c[side]?["latency"])
            let flagged = (l["p50Ms"]?.doubleValue ?? 0) > 1.25 * (l["minMs"]?.doubleValue ?? .infinity)
            #expect(c["noisy"]?[side] == .bool(flagged))
        }
        let noisyCount = ["a", "b"].filter { c["noisy"]?[$0] == .bool(true) }.count
        #expect((c["warnings"]?.arrayValue?.count ?? 0) == noisyCount)
        #expect(cmp.stderr.components(separatedBy: "is noisy").count - 1 == noisyCount)
    }
}
