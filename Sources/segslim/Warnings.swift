import Foundation
import SegProtocol

/// Warnings a command prints on stderr (in CLI words) and returns under `warnings` in `--json`.
enum Warnings {
    static func print(_ warnings: [String]) {
        for w in warnings { FileHandle.standardError.write(Data("segslim: warning: \(CLIWords.translate(w))\n".utf8)) }
    }

    /// `json` with `warnings` set to these (translated), or unchanged when there are none.
    static func attach(_ warnings: [String], to json: JSONValue) -> JSONValue {
        guard !warnings.isEmpty, case .object(var o) = json else { return json }
        o["warnings"] = .array(warnings.map { .string(CLIWords.translate($0)) })
        return .object(o)
    }

    /// A timing whose median is far above its fastest run was taken on a busy machine (or
    /// one still warming up): its ratios are not to be trusted.
    static let noisyRatio = 1.25

    static func isNoisy(p50Ms: Double, minMs: Double) -> Bool { minMs > 0 && p50Ms > noisyRatio * minMs }

    static func noisy(_ label: String, p50Ms: Double, minMs: Double) -> String? {
        guard isNoisy(p50Ms: p50Ms, minMs: minMs) else { return nil }
        return String(format: "the timing of %@ is noisy: p50 %.1f ms is %.2f× its fastest run (%.1f ms), above %.2f×; "
                      + "something else was using the CPU, so latency figures and ratios are unreliable (rerun on an idle machine, or with more runs)",
                      label, p50Ms, p50Ms / minMs, minMs, noisyRatio)
    }
}
