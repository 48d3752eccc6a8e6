import Foundation
import SegProtocol

/// `segslim autocompress`: search for a compressed model meeting latency, accuracy and size
/// budgets; writes OUT, OUT.report.json and OUT.pareto.png.
extension Commands {
    static let autocompress = Command(
        name: "autocompress",
        summary: "Search pruning, KD fine-tuning and INT8 for a model meeting latency/accuracy budgets; writes OUT, its report and a Pareto plot",
        usage: "segslim autocompress MODEL.onnx --dataset DIR (--max-latency-ratio R | --max-latency-ms MS) --max-miou-drop D [--max-size-ratio S] [--time-budget MINUTES] [--max-trials N] [--search-split train] [--final-split val] [--search-images 60] [--prune-targets 0.7,0.5,0.35] [--epochs 1,3,8] [--no-extend] [--no-int8] [--no-kd] [--cache-dir DIR] [--threads T] --out OUT.onnx [--overwrite] [--json]"
    ) { args, client, options in
        let command = "autocompress"
        let parsed = try parse(args, command: command, options: [
            "--dataset", "--max-latency-ratio", "--max-latency-ms", "--max-miou-drop", "--max-size-ratio", "--time-budget", "--max-trials",
            "--search-split", "--final-split", "--search-images", "--prune-targets", "--epochs", "--cache-dir", "--threads", "--out",
        ], flags: ["--overwrite", "--no-int8", "--no-kd", "--no-extend"])
        guard parsed.positional.count == 1 else { throw UsageError(message: "expected one MODEL.onnx", command: command) }
        let o = parsed.options
        guard let out = o["--out"] else { throw UsageError(message: "--out OUT.onnx is required", command: command) }
        guard let dataset = o["--dataset"] else { throw UsageError(message: "--dataset DIR is required (a search split and a final split)", command: command) }
        func number(_ name: String) throws -> Double? {
            guard let v = o[name] else { return nil }
            guard let x = Double(v), x.isFinite else { throw UsageError(message: "\(name) needs a number, got '\(v)'", command: command) }
            return x
        }
        func integer(_ name: String) throws -> Int? {
            guard let v = o[name] else { return nil }
            guard let n = Int(v), n > 0 else { throw UsageError(message: "\(name) needs a positive integer, got '\(v)'", command: command) }
            return n
        }
        func list<T>(_ name: String, _ convert: (String) -> T?) throws -> [T]? {
            guard let v = o[name] else { return nil }
            let items = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let values = items.compactMap(convert)
            guard values.count == items.count else { throw UsageError(message: "\(name) needs comma-separated numbers, got '\(v)'", command: command) }
            return values
        }
        guard let drop = try number("--max-miou-drop") else {
            throw UsageError(message: "--max-miou-drop D is required (a fraction: 0.01 is one mIoU point)", command: command)
        }
        let model = try resident(parsed.positional[0], client)
        var p = ModelAutoCompressRequest.Params(id: model.id, dataset: absolute(dataset), maxLatencyRatio: try number("--max-latency-ratio"),
                                                maxMiouDrop: drop)
        p.maxLatencyMs = try number("--max-latency-ms")
        p.maxSizeRatio = try number("--max-size-ratio")
        p.timeBudgetMinutes = try number("--time-budget")
        p.maxTrials = try integer("--max-trials")
        p.searchSplit = o["--search-split"]
        p.finalSplit = o["--final-split"]
        p.searchImages = try integer("--search-images")
        p.threads = try integer("--threads")
        p.cacheDir = o["--cache-dir"].map { absolute($0) }
        let space = ModelAutoCompressRequest.SearchSpace(
            pruneTargets: try list("--prune-targets") { Double($0) }, quantize: parsed.flags.contains("--no-int8") ? false : nil,
            fineTuneEpochs: try list("--epochs") { Int($0) }, extendRungs: parsed.flags.contains("--no-extend") ? false : nil,
            distill: parsed.flags.contains("--no-kd") ? false : nil)
        if space != ModelAutoCompressRequest.SearchSpace() { p.space = space }
        (p.outputPath, p.overwrite) = (absolute(out), parsed.flags.contains("--overwrite"))
        // Ctrl-C cancels the search; the daemon still answers with the best model so far
        // (scored on the final split and written), which is reported as usual.
        let r = try client.send(ModelAutoCompressRequest.self, p, progress: progressPrinter(options), keepsAnswer: true)
        if !options.json {
            let report = r.report, chosen = report["chosen"]
            Table.printKeyValues([
                ("model", r.path ?? "(not written)"), ("report", r.path.map { $0 + ".report.json" } ?? "-"),
                ("plot", report["plot"]?.stringValue ?? "-"),
                ("chosen", chosen?["key"]?.stringValue ?? "?"),
                ("meets budgets", chosen?["meetsBudgets"]?.boolValue == true ? "yes" : "no: \(chosen?["flagged"]?.stringValue ?? "")"),
                ("latency", String(format: "%.3f× the source (%.2f ms)", chosen?["latencyRatio"]?.doubleValue ?? .nan, chosen?["latencyMs"]?.doubleValue ?? .nan)),
                ("size", String(format: "%.3f× the source", chosen?["sizeRatio"]?.doubleValue ?? .nan)),
                ("search mIoU", String(format: "%.4f (source %.4f)", chosen?["searchMiou"]?.doubleValue ?? .nan, report["source"]?["searchMiou"]?.doubleValue ?? .nan)),
                ("final mIoU", String(format: "%.4f (source %.4f, drop %.4f) on %@", chosen?["final"]?["miou"]?.doubleValue ?? .nan,
                                      chosen?["final"]?["sourceMiou"]?.doubleValue ?? .nan, chosen?["final"]?["miouDrop"]?.doubleValue ?? .nan,
                                      chosen?["final"]?["split"]?.stringValue ?? "?")),
                ("trials", "\(report["trialsMeasured"]?.intValue ?? 0) measured, \(report["trialsCached"]?.intValue ?? 0) from the cache; stopped: \(report["stoppedBy"]?.stringValue ?? "?")"),
            ])
        }
        var json = ModelAutoCompressRequest.json(r).objectValue ?? [:]
        json["output"] = r.path.map(JSONValue.string) ?? .null
        return .object(json)
    }
}
