import Foundation
import SegProtocol

/// `segslim compress`: one technique (or several, in order) on a model, written with its report.
extension Commands {
    static let compress = Command(
        name: "compress", summary: "Compress a model with a technique (see `segslim techniques`); writes OUT and OUT.report.json",
        usage: "segslim compress MODEL.onnx --technique ID [--technique ID ...] [--param NAME=VALUE ...] --out OUT.onnx [--dataset DIR [--split S]] [--calib-split S] [--calib-count N] [--calib-dir DIR] [--threads N] [--overwrite] [--json]"
    ) { args, client, options in
        var a = try TechniqueArguments.parse(args, command: "compress", extra: ["--out", "--overwrite"])
        a.steps = try TechniqueHelp.checked(a.steps, client.send(TechniqueListRequest.self, NoParams()).techniques, command: "compress")
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
        let warnings = r.report["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        Warnings.print(warnings)
        if !options.json {
            Table.printKeyValues([("model", r.path ?? "(not written)"), ("report", r.path.map { $0 + ".report.json" } ?? "-")])
            ReportSummary(r.report).printText()
        }
        // `--json`: {"output": OUT.onnx, "report": {...}} (plus the resident id and path).
        var o = ModelCompressRequest.json(r).objectValue ?? [:]
        o["output"] = r.path.map(JSONValue.string) ?? .null
        return Warnings.attach(warnings, to: .object(o))
    }
}
