import Foundation
import SegProtocol

/// A compression report (`OUT.report.json`, or `model/compress`'s `report`) as a person reads
/// it: what changed in size, MACs, latency and accuracy, per class, per step, and what stayed
/// FP32 and why. Fields a report lacks (no dataset, no benchmark) are left out, not invented.
struct ReportSummary {
    struct ClassRow { var name: String; var before: Double; var after: Double }
    struct StepRow { var technique: String; var parameters: String; var facts: [(String, String)] }
    struct KeptRow { var node: String; var opType: String; var reason: String }

    var technique: String
    var source: String
    var facts: [(String, String)] = []
    var classes: [ClassRow] = []
    var split: String?
    var steps: [StepRow] = []
    var keptFP32: [KeptRow] = []
    /// Ratios after/before for the plot: size, MACs, latency.
    var ratios: [(String, Double)] = []

    init(_ report: JSONValue) {
        let steps = report["steps"]?.arrayValue ?? []
        technique = steps.count > 1
            ? "pipeline: " + steps.compactMap { $0["technique"]?.stringValue }.joined(separator: " → ")
            : (report["technique"]?.stringValue ?? steps.first?["technique"]?.stringValue ?? "?")
        let sha = report["source"]?["sha256"]?.stringValue.map { " (sha256 \($0.prefix(12))…)" } ?? ""
        source = (report["source"]?["path"]?.stringValue ?? report["source"]?["id"]?.stringValue ?? "?") + sha

        let before = report["before"], after = report["after"]
        if let b = before?["sizeBytes"]?.intValue, let a = after?["sizeBytes"]?.intValue {
            facts.append(("size", "\(Table.bytes(b)) → \(Table.bytes(a))  (\(Self.ratio(Double(a), Double(b))))"))
            ratios.append(("size", Double(a) / Double(max(b, 1))))
        }
        if let b = before?["params"]?.intValue, let a = after?["params"]?.intValue {
            facts.append(("parameters", String(format: "%.2f M → %.2f M", Double(b) / 1e6, Double(a) / 1e6)))
        }
        if let b = before?["macs"]?.intValue, let a = after?["macs"]?.intValue {
            facts.append(("MACs", String(format: "%.3f G → %.3f G", Double(b) / 1e9, Double(a) / 1e9) + "  (\(Self.ratio(Double(a), Double(b))))"))
            ratios.append(("MACs", Double(a) / Double(max(b, 1))))
        }
        if let l = report["latency"], let b = l["beforeP50Ms"]?.doubleValue, let a = l["afterP50Ms"]?.doubleValue {
            let shape = l["inputShapes"]?.objectValue?.values.first?.arrayValue?.compactMap(\.intValue).map(String.init).joined(separator: "×")
            let runs = l["runs"]?.intValue.map { "\($0) runs" }
            let context = [runs, shape].compactMap { $0 }.joined(separator: ", ")
            facts.append(("latency p50", String(format: "%.1f ms → %.1f ms", b, a) + "  (\(Self.ratio(a, b))\(context.isEmpty ? "" : ", " + context))"))
            ratios.append(("latency", a / max(b, 1e-9)))
        }
        if let e = report["evaluation"] {
            split = e["split"]?.stringValue
            let b = e["before"], a = e["after"]
            if let mb = b?["miou"]?.doubleValue, let ma = a?["miou"]?.doubleValue {
                let images = a?["images"]?.intValue.map { ", \($0) images" } ?? ""
                facts.append(("mIoU", String(format: "%.4f → %.4f  (%+.4f)", mb, ma, ma - mb) + (split.map { " on \($0)" } ?? "") + images))
            }
            if let pb = b?["pixelAccuracy"]?.doubleValue, let pa = a?["pixelAccuracy"]?.doubleValue {
                facts.append(("pixel accuracy", String(format: "%.4f → %.4f", pb, pa)))
            }
            let pb = b?["perClassIoU"]?.arrayValue ?? [], pa = a?["perClassIoU"]?.arrayValue ?? []
            for (x, y) in zip(pb, pa) {
                guard let vb = x["iou"]?.doubleValue, let va = y["iou"]?.doubleValue else { continue }
                classes.append(ClassRow(name: x["class"]?.stringValue ?? x["name"]?.stringValue ?? "?", before: vb, after: va))
            }
        }
        if let d = report["durationMs"]?.doubleValue { facts.append(("took", Table.milliseconds(d))) }

        for step in steps {
            let name = step["technique"]?.stringValue ?? "?"
            let details = step["details"]?.objectValue ?? [:]
            var stepFacts: [(String, String)] = []
            // Scalars only: the nested tables (per-layer ranges, equalization pairs) live in the JSON.
            for key in details.keys.sorted() {
                guard let v = details[key] else { continue }
                switch v {
                case .string(let s): stepFacts.append((key, s))
                case .bool(let b): stepFacts.append((key, b ? "yes" : "no"))
                case .int(let i): stepFacts.append((key, "\(i)"))
                case .double(let d): stepFacts.append((key, String(format: "%.4g", d)))
                default: continue
                }
            }
            let parameters = step["parameters"].map { $0.jsonString } ?? "{}"
            self.steps.append(StepRow(technique: name, parameters: parameters, facts: stepFacts))
            for kept in details["keptFP32"]?.arrayValue ?? [] {
                keptFP32.append(KeptRow(node: kept["node"]?.stringValue ?? "?", opType: kept["opType"]?.stringValue ?? "?",
                                        reason: kept["reason"]?.stringValue ?? ""))
            }
        }
    }

    static func ratio(_ after: Double, _ before: Double) -> String {
        before > 0 ? String(format: "%.2f×", after / before) : "?"
    }

    /// The plain-text summary: key facts, then per-class IoU (largest changes first), steps and
    /// what stayed FP32.
    func printText() {
        Table.printKeyValues([("technique", technique), ("source", source)] + facts)
        if !classes.isEmpty {
            Swift.print("\nper-class IoU\(split.map { " (\($0))" } ?? ""), largest change first")
            let rows = classes.sorted { abs($0.after - $0.before) > abs($1.after - $1.before) }.map {
                [$0.name, String(format: "%.4f", $0.before), String(format: "%.4f", $0.after), String(format: "%+.4f", $0.after - $0.before)]
            }
            Table.print(header: ["class", "before", "after", "change"], rows: rows)
        }
        for (i, s) in steps.enumerated() {
            Swift.print("\nstep \(i + 1): \(s.technique) \(s.parameters)")
            if !s.facts.isEmpty { Table.printKeyValues(s.facts.map { ("  " + $0.0, $0.1) }) }
        }
        if !keptFP32.isEmpty {
            Swift.print("\nkept FP32")
            Table.print(header: ["node", "op", "why"], rows: keptFP32.map { [$0.node, $0.opType, $0.reason] })
        }
    }
}
