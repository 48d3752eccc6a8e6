import Foundation
import SegProtocol

/// `segslim compress`: one technique (or several, in order) on a model, written with its report.
extension Commands {
    static let compress = Command(
        name: "compress", summary: "Compress a model with a technique (see `segslim techniques`); writes OUT and OUT.report.json",
        usage: "segslim compress MODEL.onnx --technique ID [--technique ID ...] [--param NAME=VALUE ...] --out OUT.onnx [--dataset DIR [--split S]] [--calib-split S] [--calib-count N] [--calib-dir DIR] [--threads N] [--overwrite] [--json]"
    ) { args, client, options in
        let a = try TechniqueArguments.parse(args, command: "compress", extra: ["--out", "--overwrite"])
        guard let out = a.extra["--out"] else { throw UsageError(message: "--out OUT.onnx is required", command: "compress") }
        let steps = a.steps
        let model = try resident(a.model, client)
        var params = a.requestParams(id: model["id"] ?? .null)
        params["outputPath"] = .string(absolute(out))
        params["overwrite"] = .bool(a.extra["--overwrite"] != nil)
        let method: String
        if steps.count == 1 {
            method = "model/compress"
            params["technique"] = .string(steps[0].0)
            params["params"] = .object(steps[0].1)
        } else {
            method = "model/pipeline"
            params["steps"] = .array(steps.map { ["technique": .string($0.0), "params": .object($0.1)] })
        }
        let r = try client.request(method, withProgress(.object(params), client, options)).value()
        if !options.json {
            let report = r["report"]
            Table.printKeyValues([
                ("model", r["path"]?.stringValue ?? "?"),
                ("report", (r["path"]?.stringValue ?? "?") + ".report.json"),
                ("size", "\(Table.bytes(report?["before"]?["sizeBytes"]?.intValue)) → \(Table.bytes(report?["after"]?["sizeBytes"]?.intValue))"),
                ("nodes", "\(report?["before"]?["nodes"] ?? "?") → \(report?["after"]?["nodes"] ?? "?")"),
                ("MACs", String(format: "%.3f G → %.3f G", Double(report?["before"]?["macs"]?.intValue ?? 0) / 1e9, Double(report?["after"]?["macs"]?.intValue ?? 0) / 1e9)),
            ])
            if let e = report?["evaluation"] {
                print(String(format: "mIoU %.4f → %.4f (drop %.4f)", e["before"]?["miou"]?.doubleValue ?? 0, e["after"]?["miou"]?.doubleValue ?? 0, e["miouDrop"]?.doubleValue ?? 0))
            }
        }
        // `--json`: {"output": OUT.onnx, "report": {...}} (plus the resident id and path).
        guard case .object(var o) = r else { return r }
        o["output"] = r["path"] ?? .null
        return .object(o)
    }
}
