import Foundation
import SegProtocol

/// Arguments shared by `segslim compress` and `segslim sensitivity`: a model, techniques with
/// their `--param`s, and where data comes from. Repeatable options are collected by hand:
/// each `--param` applies to the last `--technique`.
struct TechniqueArguments {
    var model: String
    var steps: [(String, [String: JSONValue])] = []
    var dataset: String?
    var split: String?
    var calibSplit: String?
    var calibCount: Int?
    var calibDir: String?
    var threads: Int?
    var limit: Int?
    /// Command-specific options (`--out`, `--overwrite`): value, or "" for flags.
    var extra: [String: String] = [:]

    static let flags: Set<String> = ["--overwrite"]

    static func parse(_ args: [String], command: String, extra allowed: Set<String>) throws -> TechniqueArguments {
        var positional: [String] = []
        var r = TechniqueArguments(model: "")
        var i = 0
        func value(_ name: String) throws -> String {
            guard i + 1 < args.count else { throw UsageError(message: "\(name) needs a value", command: command) }
            i += 1
            return args[i]
        }
        func integer(_ name: String) throws -> Int {
            let v = try value(name)
            guard let n = Int(v), n > 0 else { throw UsageError(message: "\(name) needs a positive integer, got '\(v)'", command: command) }
            return n
        }
        while i < args.count {
            switch args[i] {
            case "--technique": r.steps.append((try value("--technique"), [:]))
            case "--param":
                let p = try value("--param")
                guard let eq = p.firstIndex(of: "="), !r.steps.isEmpty else {
                    throw UsageError(message: "--param needs NAME=VALUE after a --technique", command: command)
                }
                let raw = String(p[p.index(after: eq)...])
                // Values are JSON when they parse (numbers, booleans, arrays), else strings.
                let parsed = (try? JSONParser.parse(raw)) ?? .string(raw)
                r.steps[r.steps.count - 1].1[String(p[..<eq])] = parsed
            case "--dataset": r.dataset = try value("--dataset")
            case "--split": r.split = try value("--split")
            case "--calib-split": r.calibSplit = try value("--calib-split")
            case "--calib-count": r.calibCount = try integer("--calib-count")
            case "--calib-dir": r.calibDir = try value("--calib-dir")
            case "--threads": r.threads = try integer("--threads")
            case "--limit" where command == "sensitivity": r.limit = try integer("--limit")
            case let a where allowed.contains(a): r.extra[a] = flags.contains(a) ? "" : try value(a)
            case let a where a.hasPrefix("--"): throw UsageError(message: "unknown option '\(a)'", command: command)
            case let a: positional.append(a)
            }
            i += 1
        }
        guard positional.count == 1 else { throw UsageError(message: "expected one model path", command: command) }
        guard !r.steps.isEmpty else { throw UsageError(message: "--technique ID is required", command: command) }
        r.model = positional[0]
        return r
    }

    /// The request's data fields: an absolute dataset path and the calibration images.
    var absoluteDataset: String? { dataset.map(Commands.absolute) }

    var calibration: CalibrationParams? {
        let c = CalibrationParams(split: calibSplit, count: calibCount, path: calibDir.map(Commands.absolute))
        return c == CalibrationParams() ? nil : c
    }
}

extension Commands {
    static let sensitivity = Command(
        name: "sensitivity", summary: "Per-layer sensitivity: the metric with only that layer quantized (or pruned), most sensitive first",
        usage: "segslim sensitivity MODEL.onnx --technique quantize|prune [--param NAME=VALUE ...] --dataset DIR [--split S] [--limit N] [--calib-split S] [--calib-count N] [--threads N] [--json]"
    ) { args, client, options in
        var a = try TechniqueArguments.parse(args, command: "sensitivity", extra: [])
        a.steps = try TechniqueHelp.checked(a.steps, client.send(TechniqueListRequest.self, NoParams()).techniques, command: "sensitivity")
        guard a.steps.count == 1 else { throw UsageError(message: "give exactly one --technique", command: "sensitivity") }
        guard a.dataset != nil else { throw UsageError(message: "--dataset DIR is required (a labelled split scores each layer)", command: "sensitivity") }
        let model = try resident(a.model, client)
        var params = ModelSensitivityRequest.Params(id: model.id, technique: a.steps[0].0, dataset: a.absoluteDataset ?? "", params: .object(a.steps[0].1))
        params.split = a.split
        params.calibration = a.calibration
        params.threads = a.threads
        params.limit = a.limit
        let r = try client.send(ModelSensitivityRequest.self, params, progress: progressPrinter(options))
        Warnings.print(r.warnings ?? [])
        if !options.json {
            let base = r.baseline?["miou"]?.doubleValue ?? 0
            print(String(format: "baseline mIoU %.4f on %@ (%d images)", base, r.split ?? "?", Int(r.baseline?["images"]?.intValue ?? 0)))
            var rows: [[String]] = []
            for l in r.layers {
                rows.append([l["layer"]?.stringValue ?? "?", l["opType"]?.stringValue ?? "?", l["setting"]?.stringValue ?? "?",
                             String(format: "%.4f", l["miou"]?.doubleValue ?? 0), String(format: "%.2f", (l["miouDrop"]?.doubleValue ?? 0) * 100)])
            }
            Table.print(header: ["layer", "op", "setting", "mIoU", "drop (pt)"], rows: rows)
        }
        return Warnings.attach(r.warnings ?? [], to: ModelSensitivityRequest.json(r))
    }
}
