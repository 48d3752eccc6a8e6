import Foundation

/// Plain-text tables for humans; `--json` is for programs.
enum Table {
    static func print(header: [String], rows: [[String]]) {
        let widths = header.indices.map { c in ([header[c]] + rows.map { c < $0.count ? $0[c] : "" }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        Swift.print(line(header))
        Swift.print(line(widths.map { String(repeating: "-", count: $0) }))
        for r in rows { Swift.print(line(r)) }
    }

    static func printKeyValues(_ rows: [(String, String)]) {
        let w = rows.map(\.0.count).max() ?? 0
        for (k, v) in rows { Swift.print("\(k.padding(toLength: w, withPad: " ", startingAt: 0))  \(v)") }
    }

    static func bytes(_ n: Int64?) -> String {
        guard let n else { return "?" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }

    static func milliseconds(_ ms: Double?) -> String {
        guard let ms else { return "?" }
        if ms < 1000 { return String(format: "%.1f ms", ms) }
        let s = ms / 1000
        if s < 120 { return String(format: "%.1f s", s) }
        return String(format: "%dh %02dm %02ds", Int(s) / 3600, Int(s) / 60 % 60, Int(s) % 60)
    }
}
