import Foundation
import SegProtocol

/// Daemon messages speak the wire (`params.dataset`, `overwrite: true`); a person at the
/// command line typed `--dataset` and `--overwrite`. This rewrites the first into the second,
/// and with `--json` reports a failure as one JSON document on stdout instead.
enum CLIWords {
    /// Wire names and their command-line spellings, longest first so `params.calibration.split`
    /// wins over `params.split`.
    static let options: [(String, String)] = [
        ("params.calibration.split", "--calib-split"), ("params.calibration.count", "--calib-count"),
        ("params.calibration.path", "--calib-dir"), ("params.outputPath", "--out"), ("params.outputDir", "--out"),
        ("params.dataset", "--dataset"), ("params.split", "--split"), ("params.threads", "--threads"),
        ("params.limit", "--limit"), ("params.technique", "--technique"), ("params.runs", "--runs"),
        ("params.alpha", "--alpha"), ("params.slide", "--slide"), ("params.classes", "--classes"), ("params.panels", "--panels"),
        ("params.mean", "--mean"), ("params.std", "--std"), ("model/annotate", "segslim annotate"),
    ]

    static func translate(_ message: String) -> String {
        var m = message
        for phrase in ["pass `overwrite: true`", "pass overwrite: true"] { m = m.replacingOccurrences(of: phrase, with: "pass --overwrite") }
        m = m.replacingOccurrences(of: "overwrite: true", with: "--overwrite")
        // Technique parameters checked by the daemon: "params.params: technique 'prune': parameter 'ratio'".
        m = m.replacingOccurrences(of: "params.params: technique '", with: "technique '")
        m = m.replacingOccurrences(of: ": parameter '", with: ": --param '")
        for (wire, option) in options { m = m.replacingOccurrences(of: wire, with: option) }
        // A technique parameter: params.params.ratio → --param ratio.
        while let r = m.range(of: "params.params.") {
            let rest = m[r.upperBound...]
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            m.replaceSubrange(r.lowerBound..<rest.index(rest.startIndex, offsetBy: name.count), with: "--param \(name)")
        }
        return m
    }

    /// Reports a failure: on stderr in CLI words, or with `--json` as
    /// `{"error": {"code", "message", "data"?}}` on stdout (the message in CLI words too), plus
    /// `fields` (a usage error's `kind` and `usage`, say).
    static func report(_ error: ResponseError?, message: String, json: Bool, fields: [String: JSONValue] = [:]) {
        let text = translate(message)
        if json {
            var e: [String: JSONValue] = fields
            e["message"] = .string(text)
            if let error {
                e["code"] = .int(Int64(error.code.rawValue))
                if let data = error.data { e["data"] = data }
            }
            print(JSONValue.object(["error": .object(e)]).jsonString)
        } else {
            FileHandle.standardError.write(Data("segslim: \(text)\n".utf8))
        }
    }
}
