import Foundation
import SegProtocol

/// segment, evaluate, compare: what users look at.
extension Commands {
    /// Progress lines on stderr for people at a terminal; nothing for pipes and `--json`.
    static func progressPrinter(_ options: GlobalOptions) -> (JSONValue) -> Void { ProgressPrinter.make(options) }

    /// Image arguments as absolute paths: a folder stands for its PNG/JPEG files (sorted, not
    /// recursive), a pattern with `*`, `?` or `[` is expanded here (quoted on the shell, or
    /// more files than a command line takes), anything else is passed as given.
    static func imagePaths(_ args: [String]) throws -> [String] {
        let extensions: Set<String> = ["png", "jpg", "jpeg"]
        var out: [String] = []
        for arg in args {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: arg, isDirectory: &isDirectory), isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: arg)) ?? []
                let images = names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
                guard !images.isEmpty else { throw UsageError(message: "\(arg) holds no PNG or JPEG images", command: "segment") }
                out += images.map { absolute((arg as NSString).appendingPathComponent($0)) }
            } else if arg.contains(where: { "*?[".contains($0) }) {
                var g = glob_t()
                defer { globfree(&g) }
                guard glob(arg, 0, nil, &g) == 0, g.gl_pathc > 0 else {
                    throw UsageError(message: "no file matches '\(arg)'", command: "segment")
                }
                out += (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { absolute(String(cString: $0)) } }
            } else {
                out.append(absolute(arg))
            }
        }
        return out
    }

    static func pct(_ v: Double) -> String { String(format: "%.2f%%", v * 100) }

    static let segment = Command(
        name: "segment", summary: "Segment images: a palette mask and an overlay per image (and a legend)",
        usage: "segslim segment MODEL.onnx IMAGE|FOLDER|'GLOB'... --out DIR [--dataset DIR | --classes dataset.json] [--legend] [--no-overlay] [--alpha A] [--slide H,W,SH,SW] [--resize stretch|pad|none] [--overwrite] [--json]   (--resize: how images reach a fixed-size input; pad keeps the aspect ratio)"
    ) { args, client, options in
        let parsed = try parse(args, command: "segment", options: ["--out", "--alpha", "--slide", "--dataset", "--classes", "--resize"], flags: ["--legend", "--no-overlay", "--overwrite"])
        guard parsed.positional.count >= 2 else { throw UsageError(message: "expected a model and at least one image", command: "segment") }
        guard let out = parsed.options["--out"] else { throw UsageError(message: "--out DIR is required", command: "segment") }
        let model = try resident(parsed.positional[0], client, resize: parsed.options["--resize"])
        var params = ModelSegmentRequest.Params(
            id: model.id, images: try imagePaths(Array(parsed.positional.dropFirst())).map { .path($0) }, outputDir: absolute(out),
            overlay: !parsed.flags.contains("--no-overlay"), legend: parsed.flags.contains("--legend"),
            overwrite: parsed.flags.contains("--overwrite"))
        // Class names (and colours) for this run: the daemon reads them from the dataset.
        switch (parsed.options["--dataset"], parsed.options["--classes"]) {
        case (.some, .some): throw UsageError(message: "give --dataset DIR or --classes dataset.json, not both", command: "segment")
        case (let source?, nil), (nil, let source?): params.classes = .path(absolute(source))
        case (nil, nil): break
        }
        if let a = parsed.options["--alpha"] {
            guard let v = Double(a) else { throw UsageError(message: "--alpha needs a number in 0...1", command: "segment") }
            params.alpha = v
        }
        if let s = parsed.options["--slide"] {
            let v = s.split(separator: ",").compactMap { Int($0) }
            guard v.count == 4 else { throw UsageError(message: "--slide needs H,W,SH,SW (crop and stride)", command: "segment") }
            params.slide = .init(crop: [v[0], v[1]], stride: [v[2], v[3]])
        }
        let result = try client.send(ModelSegmentRequest.self, params, progress: progressPrinter(options))
        Warnings.print(result.warnings ?? [])
        if !options.json {
            printSegmentation(result)
        }
        return Warnings.attach(result.warnings ?? [], to: ModelSegmentRequest.json(result))
    }

    static func topClasses(_ classes: [ModelSegmentRequest.ClassFraction], _ n: Int) -> String {
        classes.prefix(n).map { "\($0.name) \(String(format: "%.0f%%", $0.fraction * 100))" }.joined(separator: ", ")
    }

    static func printSegmentation(_ result: ModelSegmentRequest.Result) {
        for r in result.results {
            print("\((r.image as NSString).lastPathComponent)  \(r.width)×\(r.height)  infer \(String(format: "%.0f", r.timings.inferMs)) ms  \(topClasses(r.classes, 4))")
            if let m = r.mask?.path { print("  mask     \(m)") }
            if let o = r.overlay?.path { print("  overlay  \(o)") }
        }
        if let l = result.legend?.path { print("legend     \(l)") }
    }

    static let evaluate = Command(
        name: "evaluate", summary: "Score a model on a dataset split: mIoU, accuracy, kappa, Dice, per-class IoU, latency",
        usage: "segslim evaluate MODEL.onnx --dataset DIR [--split val] [--limit N] [--resize stretch|pad|none] [--json]"
    ) { args, client, options in
        let parsed = try parse(args, command: "evaluate", options: ["--dataset", "--split", "--limit", "--resize"])
        guard parsed.positional.count == 1 else { throw UsageError(message: "expected one model path", command: "evaluate") }
        guard let dataset = parsed.options["--dataset"] else { throw UsageError(message: "--dataset DIR is required", command: "evaluate") }
        let model = try resident(parsed.positional[0], client, resize: parsed.options["--resize"])
        var params = ModelEvaluateRequest.Params(id: model.id, dataset: absolute(dataset), split: parsed.options["--split"] ?? "val")
        if let l = parsed.options["--limit"] {
            guard let n = Int(l), n > 0 else { throw UsageError(message: "--limit needs a positive integer", command: "evaluate") }
            params.limit = n
        }
        let r = try client.send(ModelEvaluateRequest.self, params, progress: progressPrinter(options))
        Warnings.print(r.warnings ?? [])
        if !options.json { printEvaluation(r.metrics) }
        return Warnings.attach(r.warnings ?? [], to: ModelEvaluateRequest.json(r))
    }

    static func printEvaluation(_ r: EvaluationMetrics) {
        Table.printKeyValues([
            ("images", "\(r.images)"),
            ("mIoU", String(format: "%.4f", r.miou)),
            ("pixel accuracy", String(format: "%.4f", r.pixelAccuracy)),
            ("mean accuracy", String(format: "%.4f", r.meanAccuracy)),
            ("kappa", String(format: "%.4f", r.kappa)),
            ("mean Dice", String(format: "%.4f", r.meanDice)),
            ("latency p50", String(format: "%.1f ms", r.latency.p50Ms)),
            ("throughput", String(format: "%.2f images/s", r.imagesPerSecond)),
        ])
        print("")
        Table.print(header: ["class", "IoU"], rows: r.perClassIoU.map { [$0.name, String(format: "%.4f", $0.iou)] })
    }

    static let compare = Command(
        name: "compare", summary: "Evaluate two models on one split: agreement, per-class IoU deltas, latency and size ratios; titled A | B | difference panels",
        usage: "segslim compare A.onnx B.onnx --dataset DIR [--split val] [--limit N] [--out DIR [--panels N] [--overwrite]] [--json]   (--panels default 4: the most-different images)"
    ) { args, client, options in
        let parsed = try parse(args, command: "compare", options: ["--dataset", "--split", "--limit", "--out", "--panels"], flags: ["--overwrite"])
        guard parsed.positional.count == 2 else { throw UsageError(message: "expected two model paths", command: "compare") }
        guard let dataset = parsed.options["--dataset"] else { throw UsageError(message: "--dataset DIR is required", command: "compare") }
        var params = ModelCompareRequest.Params(ids: [], dataset: absolute(dataset), split: parsed.options["--split"] ?? "val")
        if let l = parsed.options["--limit"] {
            guard let n = Int(l), n > 0 else { throw UsageError(message: "--limit needs a positive integer", command: "compare") }
            params.limit = n
        }
        if let n = parsed.options["--panels"] {
            guard parsed.options["--out"] != nil else { throw UsageError(message: "--panels needs --out DIR (where the panels go)", command: "compare") }
            guard let v = Int(n), (0...1000).contains(v) else { throw UsageError(message: "--panels needs an integer in 0...1000", command: "compare") }
            params.panels = v
        }
        if parsed.flags.contains("--overwrite") && parsed.options["--out"] == nil {
            throw UsageError(message: "--overwrite needs --out DIR", command: "compare")
        }
        params.outputDir = parsed.options["--out"].map(absolute)
        params.overwrite = parsed.flags.contains("--overwrite") ? true : nil
        let a = try resident(parsed.positional[0], client), b = try resident(parsed.positional[1], client)
        params.ids = [a.id, b.id]
        let r = try client.send(ModelCompareRequest.self, params, progress: progressPrinter(options))
        var warnings = r.warnings ?? []
        for (label, m) in [("A (\(a.id))", r.a), ("B (\(b.id))", r.b)] {
            if let min = m.latency.minMs, let w = Warnings.noisy(label, p50Ms: m.latency.p50Ms, minMs: min) { warnings.append(w) }
        }
        Warnings.print(warnings)
        if !options.json {
            Table.printKeyValues([
                ("mIoU A / B", String(format: "%.4f / %.4f (Δ %+.4f)", r.a.miou, r.b.miou, r.miouDelta)),
                ("pixel agreement", pct(r.pixelAgreement)),
                ("latency B/A", String(format: "%.2f×", r.latencyRatio)),
                ("size B/A", String(format: "%.2f×", r.sizeRatio)),
            ])
            print("")
            Table.print(header: ["class", "IoU A", "IoU B", "Δ"], rows: zip(r.a.perClassIoU, r.b.perClassIoU).map { x, y in
                [x.name, String(format: "%.4f", x.iou), String(format: "%.4f", y.iou), String(format: "%+.4f", y.iou - x.iou)]
            })
            if !r.panels.isEmpty {
                print("")
                Table.print(header: ["panel (A | B | difference)", "pixels differ"], rows: zip(r.panels, r.panelImages ?? []).map { panel, image in
                    [panel.path ?? "-", pct(image.differing)]
                })
            }
        }
        var json = ModelCompareRequest.json(r)
        if case .object(var o) = json {
            o["noisy"] = ["a": .bool(Warnings.isNoisy(p50Ms: r.a.latency.p50Ms, minMs: r.a.latency.minMs ?? 0)),
                          "b": .bool(Warnings.isNoisy(p50Ms: r.b.latency.p50Ms, minMs: r.b.latency.minMs ?? 0))]
            json = .object(o)
        }
        return Warnings.attach(warnings, to: json)
    }
}
