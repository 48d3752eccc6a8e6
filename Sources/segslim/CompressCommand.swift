import Foundation
import SegProtocol

/// `segslim compress`: one technique (or several, in order) on a model, written with its report.
extension Commands {
    static let compress = Command(
        name: "compress", summary: "Compress a model with a technique (see `segslim techniques`); writes OUT and OUT.report.json",
        usage: "segslim compress MODEL.onnx --technique ID [--technique ID ...] [--param NAME=VALUE ...] --out OUT.onnx [--dataset DIR [--split S]] [--overwrite] [--json]"
    ) { args, client, options in
        // Repeatable options are collected by hand: each --param applies to the last --technique.
        var positional: [String] = [], steps: [(String, [String: JSONValue])] = [], out: String? = nil
        var dataset: String? = nil, split: String? = nil, overwrite = false
        var i = 0
        func value(_ name: String) throws -> String {
            guard i + 1 < args.count else { throw UsageError(message: "\(name) needs a value", command: "compress") }
            i += 1
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--technique": steps.append((try value("--technique"), [:]))
            case "--param":
                let p = try value("--param")
                guard let eq = p.firstIndex(of: "="), !steps.isEmpty else {
                    throw UsageError(message: "--param needs NAME=VALUE after a --technique", command: "compress")
                }
                let raw = String(p[p.index(after: eq)...])
                // Values are JSON when they parse (numbers, booleans, arrays), else strings.
                let parsed = (try? JSONParser.parse(raw)) ?? .string(raw)
                steps[steps.count - 1].1[String(p[..<eq])] = parsed
            case "--out": out = try value("--out")
            case "--dataset": dataset = try value("--dataset")
            case "--split": split = try value("--split")
            case "--overwrite": overwrite = true
            case let a where a.hasPrefix("--"): throw UsageError(message: "unknown option '\(a)'", command: "compress")
            case let a: positional.append(a)
            }
            i += 1
        }
        guard positional.count == 1 else { throw UsageError(message: "expected one model path", command: "compress") }
        guard !steps.isEmpty else { throw UsageError(message: "--technique ID is required", command: "compress") }
        guard let out else { throw UsageError(message: "--out OUT.onnx is required", command: "compress") }
        let model = try resident(positional[0], client)
        var params: [String: JSONValue] = ["id": model["id"] ?? .null, "outputPath": .string(absolute(out)), "overwrite": .bool(overwrite)]
        if let dataset { params["dataset"] = .string(absolute(dataset)) }
        if let split { params["split"] = .string(split) }
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
        return r
    }
}
