import Foundation
import SegProtocol
import Synchronization

/// Progress of a long request on stderr: a bar with an ETA on a terminal; a plain line every
/// few seconds otherwise (CI logs, `2> file`), so a 40-minute job is visibly alive without
/// filling the log; nothing with `--json` or `--quiet`.
final class ProgressPrinter: Sendable {
    struct State {
        var started = Date()
        var lastLine = Date.distantPast
        var title = ""
    }
    let terminal: Bool
    let interval: TimeInterval
    let state = Mutex(State())

    init(terminal: Bool, interval: TimeInterval = 5) {
        self.terminal = terminal
        self.interval = interval
    }

    static func make(_ options: GlobalOptions) -> (JSONValue) -> Void {
        guard !options.json, !options.quiet else { return { _ in } }
        let printer = ProgressPrinter(terminal: isatty(STDERR_FILENO) != 0)
        return { printer.handle($0) }
    }

    func handle(_ p: JSONValue) {
        guard let v = p["value"] else { return }
        let kind = v["kind"]?.stringValue ?? ""
        let now = Date()
        let line: String? = state.withLock { s in
            if kind == "begin" { s = State(started: now, title: v["title"]?.stringValue ?? "") }
            let pct = v["percentage"]?.intValue.map(Int.init)
            let message = v["message"]?.stringValue ?? s.title
            let elapsed = now.timeIntervalSince(s.started)
            if terminal {
                if kind == "end" { return "\r\u{1B}[K" }
                guard let pct else { return "\r\u{1B}[K\(message)" }
                let filled = max(0, min(20, pct / 5))
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled)
                let eta = pct > 0 && pct < 100 ? "  ETA \(Self.clock(elapsed * Double(100 - pct) / Double(pct)))" : ""
                return "\r\u{1B}[K[\(bar)] \(pct)% \(message)\(eta)"
            }
            // Not a terminal: the first report, then one every `interval`, then the end.
            guard kind == "end" || kind == "begin" || now.timeIntervalSince(s.lastLine) >= interval else { return nil }
            s.lastLine = now
            if kind == "end" { return "segslim: \(s.title.isEmpty ? "done" : s.title + ": done") after \(Self.clock(elapsed))\n" }
            return "segslim: \(pct.map { "\($0)% " } ?? "")\(message) (\(Self.clock(elapsed)))\n"
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
