import Foundation
import SegProtocol

/// segment, evaluate, compare: what users look at.
extension Commands {
    /// Progress lines on stderr for people at a terminal; nothing for pipes and `--json`.
    static func progressPrinter(_ options: GlobalOptions) -> (JSONValue) -> Void {
        guard !options.json, isatty(STDERR_FILENO) != 0 else { return { _ in } }
        return { p in
            let v = p["value"]
            guard let pct = v?["percentage"]?.intValue else { return }
            let msg = v?["message"]?.stringValue ?? v?["title"]?.stringValue ?? ""
            FileHandle.standardError.write(Data("\r\u{1B}[K\(pct)% \(msg)".utf8))
            if v?["kind"] == "end" { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
    }

    static func withProgress(_ params: JSONValue, _ client: DaemonClient, _ options: GlobalOptions) -> JSONValue {
        client.onProgress = progressPrinter(options)
        guard case .object(var o) = params else { return params }
        o["workDoneToken"] = "cli"
        return .object(o)
    }

    static func pct(_ v: JSONValue?) -> String { String(format: "%.2f%%", (v?.doubleValue ?? 0) * 100) }

    static let segment = Command(
        name: "segment", summary: "Segment images: a palette mask and an overlay per image (and a legend)",
        usage: "segslim segment MODEL.onnx IMAGE... --out DIR [--legend] [--no-overlay] [--alpha A] [--slide H,W,SH,SW] [--json]"
    ) { args, client, options in
        let parsed = try parse(args, command: "segment", options: ["--out", "--alpha", "--slide"], flags: ["--legend", "--no-overlay"])
        guard parsed.positional.count >= 2 else { throw UsageError(message: "expected a model and at least one image", command: "segment") }
        guard let out = parsed.options["--out"] else { throw UsageError(message: "--out DIR is required", command: "segment") }
        let model = try resident(parsed.positional[0], client)
        var params: [String: JSONValue] = [
            "id": model["id"] ?? .null, "images": .array(parsed.positional.dropFirst().map { .string(absolute($0)) }),
            "outputDir": .string(absolute(out)), "legend": .bool(parsed.flags.contains("--legend")),
            "overlay": .bool(!parsed.flags.contains("--no-overlay")),
        ]
        if let a = parsed.options["--alpha"] {
            guard let v = Double(a) else { throw UsageError(message: "--alpha needs a number in 0...1", command: "segment") }
            params["alpha"] = .double(v)
        }
        if let s = parsed.options["--slide"] {
            let v = s.split(separator: ",").compactMap { Int($0) }
            guard v.count == 4 else { throw UsageError(message: "--slide needs H,W,SH,SW (crop and stride)", command: "segment") }
            params["slide"] = ["crop": [.int(Int64(v[0])), .int(Int64(v[1]))], "stride": [.int(Int64(v[2])), .int(Int64(v[3]))]]
        }
        let result = try client.request("model/segment", withProgress(.object(params), client, options)).value()
        if !options.json {
            printSegmentation(result)
        }
        return result
    }

    static func printSegmentation(_ result: JSONValue) {
        for r in result["results"]?.arrayValue ?? [] {
            let name = (r["image"]?.stringValue ?? "?" as String)
            let top = (r["classes"]?.arrayValue ?? []).prefix(4).map {
                "\($0["class"]?.stringValue ?? "?") \(String(format: "%.0f%%", ($0["fraction"]?.doubleValue ?? 0) * 100))"
            }.joined(separator: ", ")
            print("\((name as NSString).lastPathComponent)  \(r["width"] ?? "?")×\(r["height"] ?? "?")  infer \(String(format: "%.0f", r["timings"]?["inferMs"]?.doubleValue ?? 0)) ms  \(top)")
            if let m = r["mask"]?.stringValue { print("  mask     \(m)") }
            if let o = r["overlay"]?.stringValue { print("  overlay  \(o)") }
        }
        if let l = result["legend"]?.stringValue { print("legend     \(l)") }
    }

    static let evaluate = Command(
        name: "evaluate", summary: "Score a model on a dataset split: mIoU, accuracy, kappa, Dice, per-class IoU, latency",
        usage: "segslim evaluate MODEL.onnx --dataset DIR [--split val] [--limit N] [--json]"
    ) { args, client, options in
        let parsed = try parse(args, command: "evaluate", options: ["--dataset", "--split", "--limit"])
        guard parsed.positional.count == 1 else { throw UsageError(message: "expected one model path", command: "evaluate") }
        guard let dataset = parsed.options["--dataset"] else { throw UsageError(message: "--dataset DIR is required", command: "evaluate") }
        let model = try resident(parsed.positional[0], client)
        var params: [String: JSONValue] = ["id": model["id"] ?? .null, "dataset": .string(absolute(dataset)), "split": .string(parsed.options["--split"] ?? "val")]
        if let l = parsed.options["--limit"] {
            guard let n = Int(l), n > 0 else { throw UsageError(message: "--limit needs a positive integer", command: "evaluate") }
            params["limit"] = .int(Int64(n))
        }
        let r = try client.request("model/evaluate", withProgress(.object(params), client, options)).value()
        if !options.json { printEvaluation(r) }
        return r
    }

    static func printEvaluation(_ r: JSONValue) {
        Table.printKeyValues([
            ("images", "\(r["images"] ?? "?")"),
            ("mIoU", String(format: "%.4f", r["miou"]?.doubleValue ?? 0)),
            ("pixel accuracy", String(format: "%.4f", r["pixelAccuracy"]?.doubleValue ?? 0)),
            ("mean accuracy", String(format: "%.4f", r["meanAccuracy"]?.doubleValue ?? 0)),
            ("kappa", String(format: "%.4f", r["kappa"]?.doubleValue ?? 0)),
            ("mean Dice", String(format: "%.4f", r["meanDice"]?.doubleValue ?? 0)),
            ("latency p50", String(format: "%.1f ms", r["latency"]?["p50Ms"]?.doubleValue ?? 0)),
            ("throughput", String(format: "%.2f images/s", r["imagesPerSecond"]?.doubleValue ?? 0)),
        ])
        print("")
        Table.print(header: ["class", "IoU"], rows: (r["perClassIoU"]?.arrayValue ?? []).map {
            [$0["class"]?.stringValue ?? "?", String(format: "%.4f", $0["iou"]?.doubleValue ?? 0)]
        })
    }

    static let compare = Command(
        name: "compare", summary: "Evaluate two models on one split: agreement, per-class IoU deltas, latency and size ratios",
        usage: "segslim compare A.onnx B.onnx --dataset DIR [--split val] [--limit N] [--json]"
    ) { args, client, options in
        let parsed = try parse(args, command: "compare", options: ["--dataset", "--split", "--limit"])
        guard parsed.positional.count == 2 else { throw UsageError(message: "expected two model paths", command: "compare") }
        guard let dataset = parsed.options["--dataset"] else { throw UsageError(message: "--dataset DIR is required", command: "compare") }
        let a = try resident(parsed.positional[0], client), b = try resident(parsed.positional[1], client)
        var params: [String: JSONValue] = ["ids": [a["id"] ?? .null, b["id"] ?? .null], "dataset": .string(absolute(dataset)),
                                           "split": .string(parsed.options["--split"] ?? "val")]
        if let l = parsed.options["--limit"], let n = Int(l), n > 0 { params["limit"] = .int(Int64(n)) }
        let r = try client.request("model/compare", withProgress(.object(params), client, options)).value()
        if !options.json {
            Table.printKeyValues([
                ("mIoU A / B", String(format: "%.4f / %.4f (Δ %+.4f)", r["a"]?["miou"]?.doubleValue ?? 0, r["b"]?["miou"]?.doubleValue ?? 0, r["miouDelta"]?.doubleValue ?? 0)),
                ("pixel agreement", pct(r["pixelAgreement"])),
                ("latency B/A", String(format: "%.2f×", r["latencyRatio"]?.doubleValue ?? 0)),
                ("size B/A", String(format: "%.2f×", r["sizeRatio"]?.doubleValue ?? 0)),
            ])
            print("")
            Table.print(header: ["class", "IoU A", "IoU B", "Δ"], rows: zip(r["a"]?["perClassIoU"]?.arrayValue ?? [], r["b"]?["perClassIoU"]?.arrayValue ?? []).map { x, y in
                let ia = x["iou"]?.doubleValue ?? 0, ib = y["iou"]?.doubleValue ?? 0
                return [x["class"]?.stringValue ?? "?", String(format: "%.4f", ia), String(format: "%.4f", ib), String(format: "%+.4f", ib - ia)]
            })
        }
        return r
    }
}
