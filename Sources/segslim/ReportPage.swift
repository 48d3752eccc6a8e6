import Foundation

/// `segslim report --html`: the summary as one self-contained page (inline CSS and SVG, no
/// scripts, nothing fetched), so it can be mailed, attached to a CI run or opened offline.
extension ReportSummary {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    func html(title: String) -> String {
        let e = Self.escape
        var body = "<h1>\(e(title))</h1>\n<table class=\"facts\">\n"
        for (k, v) in [("technique", technique), ("source", source)] + facts { body += "<tr><th>\(e(k))</th><td>\(e(v))</td></tr>\n" }
        body += "</table>\n"
        if !ratios.isEmpty {
            body += "<h2>After ÷ before</h2>\n" + ratioChart()
        }
        if !classes.isEmpty {
            body += "<h2>Per-class IoU\(split.map { " (\(e($0)))" } ?? "")</h2>\n" + classChart()
            body += "<table><tr><th>class</th><th>before</th><th>after</th><th>change</th></tr>\n"
            for c in classes.sorted(by: { abs($0.after - $0.before) > abs($1.after - $1.before) }) {
                let d = c.after - c.before
                body += "<tr><td>\(e(c.name))</td><td>\(String(format: "%.4f", c.before))</td><td>\(String(format: "%.4f", c.after))</td>"
                body += "<td class=\"\(d < 0 ? "worse" : "better")\">\(String(format: "%+.4f", d))</td></tr>\n"
            }
            body += "</table>\n"
        }
        for (i, s) in steps.enumerated() {
            body += "<h2>Step \(i + 1): \(e(s.technique))</h2>\n<p><code>\(e(s.parameters))</code></p>\n"
            if !s.facts.isEmpty {
                body += "<table class=\"facts\">" + s.facts.map { "<tr><th>\(e($0.0))</th><td>\(e($0.1))</td></tr>" }.joined(separator: "\n") + "</table>\n"
            }
        }
        if !keptFP32.isEmpty {
            body += "<h2>Kept FP32</h2>\n<table><tr><th>node</th><th>op</th><th>why</th></tr>\n"
            body += keptFP32.map { "<tr><td>\(e($0.node))</td><td>\(e($0.opType))</td><td>\(e($0.reason))</td></tr>" }.joined(separator: "\n")
            body += "</table>\n"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(e(title))</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
            table { border-collapse: collapse; margin: .5em 0 1.5em; }
            th, td { padding: .2em .8em; text-align: left; border-bottom: 1px solid #ddd; }
            table.facts th { font-weight: 600; }
            td.worse { color: #b00020; } td.better { color: #1b7f3b; }
            svg text { font: 12px system-ui, sans-serif; }
            </style></head><body>
            \(body)<p><small>segslim report</small></p>
            </body></html>

            """
    }

    /// Horizontal bars of after/before, with the 1.0 line drawn.
    func ratioChart() -> String {
        let width = 520.0, label = 90.0, row = 26.0, scale = (width - label - 60) / max(1.2, ratios.map(\.1).max() ?? 1)
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(Double(ratios.count) * row + 10))\" role=\"img\" aria-label=\"after over before ratios\">\n"
        for (i, (name, r)) in ratios.enumerated() {
            let y = Double(i) * row + 4
            svg += "<text x=\"0\" y=\"\(y + 15)\">\(Self.escape(name))</text>"
            svg += "<rect x=\"\(label)\" y=\"\(y)\" width=\"\(String(format: "%.1f", r * scale))\" height=\"18\" fill=\"#4a78c2\"/>"
            svg += "<text x=\"\(String(format: "%.1f", label + r * scale + 6))\" y=\"\(y + 15)\">\(String(format: "%.2f×", r))</text>\n"
        }
        let one = label + scale
        svg += "<line x1=\"\(one)\" x2=\"\(one)\" y1=\"0\" y2=\"\(Double(ratios.count) * row + 6)\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n</svg>\n"
        return svg
    }

    /// Grouped bars per class: IoU before (grey) and after (blue), 0...1.
    func classChart() -> String {
        let label = 130.0, barWidth = 360.0, row = 30.0
        var svg = "<svg width=\"\(Int(label + barWidth + 60))\" height=\"\(Int(Double(classes.count) * row + 30))\" role=\"img\" aria-label=\"per-class IoU before and after\">\n"
        svg += "<rect x=\"\(label)\" y=\"2\" width=\"10\" height=\"10\" fill=\"#bbb\"/><text x=\"\(label + 14)\" y=\"11\">before</text>"
        svg += "<rect x=\"\(label + 70)\" y=\"2\" width=\"10\" height=\"10\" fill=\"#4a78c2\"/><text x=\"\(label + 84)\" y=\"11\">after</text>\n"
        for (i, c) in classes.enumerated() {
            let y = Double(i) * row + 22
            svg += "<text x=\"0\" y=\"\(y + 17)\">\(Self.escape(c.name))</text>"
            svg += "<rect x=\"\(label)\" y=\"\(y)\" width=\"\(String(format: "%.1f", max(0, c.before) * barWidth))\" height=\"11\" fill=\"#bbb\"/>"
            svg += "<rect x=\"\(label)\" y=\"\(y + 12)\" width=\"\(String(format: "%.1f", max(0, c.after) * barWidth))\" height=\"11\" fill=\"#4a78c2\"/>"
            svg += "<text x=\"\(String(format: "%.1f", label + max(c.before, c.after) * barWidth + 6))\" y=\"\(y + 17)\">\(String(format: "%+.3f", c.after - c.before))</text>\n"
        }
        return svg + "</svg>\n"
    }
}
