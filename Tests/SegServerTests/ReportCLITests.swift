import Foundation
import SegProtocol
import SegTestSupport
import Testing

/// `segslim report`: a report file read without a daemon, summarised as text, JSON and a page.
@Suite(.requires(Binaries.requirement))
struct ReportCLITests {
    let cli = Binaries.cli ?? ""

    /// A two-step report with every section, numbers chosen so each printed figure is checkable.
    static let report = """
        {"technique": "pipeline", "source": {"path": "/models/m.onnx", "sha256": "abcdef0123456789"},
         "before": {"sizeBytes": 2000000, "params": 500000, "macs": 4000000000},
         "after": {"sizeBytes": 500000, "params": 250000, "macs": 1000000000},
         "latency": {"beforeP50Ms": 40.0, "afterP50Ms": 10.0, "runs": 7, "inputShapes": {"image": [1, 3, 8, 8]}},
         "evaluation": {"split": "val",
           "before": {"miou": 0.6, "pixelAccuracy": 0.9, "images": 5, "perClassIoU": [{"class": "road", "iou": 0.9}, {"class": "car <&>", "iou": 0.3}]},
           "after": {"miou": 0.55, "pixelAccuracy": 0.88, "images": 5, "perClassIoU": [{"class": "road", "iou": 0.89}, {"class": "car <&>", "iou": 0.21}]},
           "miouDrop": 0.05},
         "steps": [{"technique": "prune", "parameters": {"ratio": 0.5}, "details": {"prunedChannels": 12}},
                   {"technique": "quantize", "parameters": {}, "details": {"int8Nodes": 3,
                     "keptFP32": [{"node": "head/Add", "opType": "Add", "reason": "output head kept FP32"}]}}]}
        """

    func temp() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("segslim-report-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func summarisesWithoutADaemon() throws {
        let dir = try temp()
        let file = dir.appendingPathComponent("m.report.json").path
        try Data(Self.report.utf8).write(to: URL(fileURLWithPath: file))
        // A daemon that cannot start: the command must not need one.
        let out = try runProcess(cli, ["report", file], environment: ["SEGSLIMD": "/bin/false"])
        #expect(out.status == 0)
        let text = out.stdoutText
        #expect(text.contains("pipeline: prune → quantize"))
        #expect(text.contains("(0.25×)"))                     // size 2 MB → 0.5 MB, MACs 4 G → 1 G
        #expect(text.contains("40.0 ms → 10.0 ms  (0.25×, 7 runs, 1×3×8×8)"))
        #expect(text.contains("0.6000 → 0.5500  (-0.0500) on val, 5 images"))
        // Largest change first: car (−0.09) before road (−0.01).
        let car = try #require(text.range(of: "car <&>")), road = try #require(text.range(of: "road   "))
        #expect(car.lowerBound < road.lowerBound)
        #expect(text.contains("prunedChannels") && text.contains("head/Add") && text.contains("output head kept FP32"))

        let json = try runProcess(cli, ["--json", "report", file], environment: ["SEGSLIMD": "/bin/false"])
        let doc = try JSONParser.parse(Array(json.stdout))
        #expect(doc["summary"]?["after"]?["sizeBytes"] == 500000)
        #expect(doc["page"] == .null)
    }

    @Test func writesAPageAndRefusesToReplaceOne() throws {
        let dir = try temp()
        let file = dir.appendingPathComponent("m.report.json").path, page = dir.appendingPathComponent("m.html").path
        try Data(Self.report.utf8).write(to: URL(fileURLWithPath: file))
        #expect(try runProcess(cli, ["report", file, "--html", page]).status == 0)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("car &lt;&amp;&gt;") && !html.contains("car <&>"))
        #expect(!html.contains("<script") && !html.contains("http"))   // self-contained
        let again = try runProcess(cli, ["report", file, "--html", page])
        #expect(again.status == 1 && again.stderr.contains("--overwrite"))
        #expect(try runProcess(cli, ["report", file, "--html", page, "--overwrite"]).status == 0)
    }

    @Test func badFilesAreNamed() throws {
        let dir = try temp()
        let missing = try runProcess(cli, ["report", dir.appendingPathComponent("nope.json").path])
        #expect(missing.status == 1 && missing.stderr.contains("no such file"))
        let garbage = dir.appendingPathComponent("g.json").path
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: garbage))
        let bad = try runProcess(cli, ["report", garbage])
        #expect(bad.status == 1 && bad.stderr.contains("g.json is not JSON"))
        let other = dir.appendingPathComponent("o.json").path
        try Data("{\"a\": 1}".utf8).write(to: URL(fileURLWithPath: other))
        #expect(try runProcess(cli, ["report", other]).stderr.contains("not a SegSlim compression report"))
        #expect(try runProcess(cli, ["report"]).status == 2)
    }
}

/// `segslim techniques ID`, "did you mean", and `--param a,b` for list parameters.
@Suite(.requires(Binaries.requirement))
struct TechniqueCLITests {
    let cli = Binaries.cli ?? ""

    @Test func describesOneTechniquesParameters() throws {
        let out = try runProcess(cli, ["techniques", "quantize"])
        #expect(out.status == 0)
        let calibration = out.stdoutText.split(separator: "\n").first { $0.hasPrefix("calibration ") }
        #expect(calibration?.contains("one of minmax, percentile, entropy, mse") == true && calibration?.contains("mse") == true)
        #expect(out.stdoutText.contains("--technique quantize --param calibration=entropy"))
        let json = try JSONParser.parse(Array(try runProcess(cli, ["--json", "techniques", "prune"]).stdout))
        #expect(json["id"] == "prune" && json["parameters"]?["properties"]?["ratio"] != nil)
    }

    @Test func suggestsTheNearestName() throws {
        let technique = try runProcess(cli, ["techniques", "quantise"])
        #expect(technique.status == 2 && technique.stderr.contains("did you mean 'quantize'?"))
        let command = try runProcess(cli, ["segmnt"])
        #expect(command.status == 2 && command.stderr.contains("did you mean 'segment'?"))
        let model = ModelMethodTests.fixture("tiny_conv_seg.onnx")
        let param = try runProcess(cli, ["compress", model, "--technique", "quantize", "--param", "calibraton=mse", "--out", "/tmp/never-\(getpid()).onnx"])
        #expect(param.status == 2 && param.stderr.contains("no parameter 'calibraton'; did you mean 'calibration'?"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-\(getpid()).onnx"))
    }

    @Test func commaSeparatedListsBecomeArrays() throws {
        let model = ModelMethodTests.fixture("tiny_conv_seg.onnx")
        let out = "/tmp/segslim-list-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).onnx"
        let r = try runProcess(cli, ["--json", "compress", model, "--technique", "quantize", "--param", "mode=weightOnly",
                                     "--param", "excludeOpTypes=Resize,Add", "--param", "dryRun=true", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try JSONParser.parse(Array(r.stdout))
        #expect(doc["report"]?["steps"]?.arrayValue?.first?["parameters"]?["excludeOpTypes"] == .array(["Resize", "Add"]))
        // A dry run (here of weight-only mode) reports and writes nothing.
        #expect(!FileManager.default.fileExists(atPath: out))
        try? FileManager.default.removeItem(atPath: out)
    }
}

/// Daemon errors in the words the user typed, and as one JSON document with `--json`.
@Suite(.requires(Binaries.requirement))
struct CLIErrorWordsTests {
    let cli = Binaries.cli ?? ""

    @Test func optionNamesNotWireFields() throws {
        let model = ModelMethodTests.fixture("tiny_conv_seg.onnx")
        let missing = "/tmp/segslim-no-dataset-\(getpid())"
        let text = try runProcess(cli, ["evaluate", model, "--dataset", missing])
        #expect(text.status == 1)
        #expect(text.stderr.contains("--dataset: '\(missing)'") && !text.stderr.contains("params."))
        let json = try runProcess(cli, ["--json", "evaluate", model, "--dataset", missing])
        #expect(json.status == 1)
        let doc = try JSONParser.parse(Array(json.stdout))
        #expect(doc["error"]?["code"] == .int(Int64(ErrorCode.fileNotFound.rawValue)))
        #expect(doc["error"]?["message"]?.stringValue?.hasPrefix("--dataset:") == true)

        let taken = "/tmp/segslim-taken-\(getpid()).onnx"
        FileManager.default.createFile(atPath: taken, contents: Data("keep".utf8))
        defer { try? FileManager.default.removeItem(atPath: taken) }
        let exists = try runProcess(cli, ["compress", model, "--technique", "fuse", "--out", taken])
        #expect(exists.status == 1 && exists.stderr.contains("pass --overwrite") && !exists.stderr.contains("overwrite: true"))
        #expect(FileManager.default.contents(atPath: taken) == Data("keep".utf8))
    }
}

/// Progress when stderr is not a terminal: plain lines (first, every few seconds, the end), no
/// carriage returns or escape codes; `--quiet` silences it.
@Suite(.requires(Binaries.requirement))
struct CLIProgressTests {
    let cli = Binaries.cli ?? ""

    @Test func plainLinesOffATerminalAndQuietSilences() throws {
        let model = ModelMethodTests.fixture("tiny_seg.onnx"), dataset = ModelMethodTests.fixture("tinyseg")
        let loud = try runProcess(cli, ["evaluate", model, "--dataset", dataset])
        #expect(loud.status == 0)
        #expect(loud.stderr.hasPrefix("segslim: ") && loud.stderr.contains("Evaluating") && loud.stderr.contains("done after"))
        #expect(!loud.stderr.contains("\r") && !loud.stderr.contains("\u{1B}"))
        let quiet = try runProcess(cli, ["--quiet", "evaluate", model, "--dataset", dataset])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty)
        // The same scores on stdout (latencies differ run to run).
        func scores(_ s: String) -> [Substring] { s.split(separator: "\n").filter { $0.hasPrefix("mIoU") || $0.hasPrefix("dark") } }
        #expect(!scores(loud.stdoutText).isEmpty && scores(quiet.stdoutText) == scores(loud.stdoutText))
    }
}

/// `segslim segment` takes folders and patterns as well as files.
@Suite(.requires(Binaries.requirement))
struct SegmentArgumentsCLITests {
    let cli = Binaries.cli ?? ""

    @Test func foldersAndGlobsExpandToTheirImages() throws {
        let model = ModelMethodTests.fixture("tiny_seg.onnx"), images = ModelMethodTests.fixture("tinyseg") + "/images"
        let expected = try FileManager.default.contentsOfDirectory(atPath: images).filter { $0.hasSuffix(".png") }.sorted()
        for (arg, extra) in [(images, [String]()), (images + "/*.png", ["--overwrite"])] {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("segslim-args-\(getpid())").path
            let r = try runProcess(cli, ["--json", "--quiet", "segment", model, arg, "--out", out] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let names = try JSONParser.parse(Array(r.stdout))["results"]?.arrayValue?.compactMap { $0["image"]?.stringValue.map { ($0 as NSString).lastPathComponent } }
            #expect(names == expected)
        }
        let none = try runProcess(cli, ["segment", model, "/nonexistent-\(getpid())/*.jpg", "--out", "/tmp"])
        #expect(none.status == 2 && none.stderr.contains("no file matches"))
    }
}
