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
        let r: CompressResult
        if steps.count == 1 {
            var params = ModelCompressRequest.Params(id: model.id, technique: steps[0].0, params: .object(steps[0].1))
            (params.dataset, params.split, params.calibration, params.threads) = (a.absoluteDataset, a.split, a.calibration, a.threads)
            (params.outputPath, params.overwrite) = (absolute(out), a.extra["--overwrite"] != nil)
            r = try client.send(ModelCompressRequest.self, params, progress: progressPrinter(options))
        } else {
            var params = ModelPipelineRequest.Params(id: model.id, steps: steps.map { TechniqueStep(technique: $0.0, params: .object($0.1)) })
            (params.dataset, params.split, params.calibration, params.threads) = (a.absoluteDataset, a.split, a.calibration, a.threads)
            (params.outputPath, params.overwrite) = (absolute(out), a.extra["--overwrite"] != nil)
            r = try client.send(ModelPipelineRequest.self, params, progress: progressPrinter(options))
        }
        if !options.json {
            let report: JSONValue? = r.report
            Table.printKeyValues([
                ("model", r.path ?? "?"),
                ("report", (r.path ?? "?") + ".report.json"),
                ("size", "\(Table.bytes(report?["before"]?["sizeBytes"]?.intValue)) → \(Table.bytes(report?["after"]?["sizeBytes"]?.intValue))"),
                ("nodes", "\(report?["before"]?["nodes"] ?? "?") → \(report?["after"]?["nodes"] ?? "?")"),
                ("MACs", String(format: "%.3f G → %.3f G", Double(report?["before"]?["macs"]?.intValue ?? 0) / 1e9, Double(report?["after"]?["macs"]?.intValue ?? 0) / 1e9)),
            ])
            if let e = report?["evaluation"] {
                print(String(format: "mIoU %.4f → %.4f (drop %.4f)", e["before"]?["miou"]?.doubleValue ?? 0, e["after"]?["miou"]?.doubleValue ?? 0, e["miouDrop"]?.doubleValue ?? 0))
            }
        }
        // `--json`: {"output": OUT.onnx, "report": {...}} (plus the resident id and path).
        var o = ModelCompressRequest.json(r).objectValue ?? [:]
        o["output"] = r.path.map(JSONValue.string) ?? .null
        return .object(o)
    }
}
