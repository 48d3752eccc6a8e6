import Foundation
import SegProtocol

/// What the CLI knows about techniques from `technique/list`: each parameter's type, default and
/// meaning for `segslim techniques ID`, names checked with "did you mean", and `--param`
/// values shaped by the schema (`a,b` for a list, as well as JSON).
enum TechniqueHelp {
    /// The closest of `candidates` to `word` (edit distance at most a third of its length, ≥ 2).
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var previous = row[0]
                row[0] = i + 1
                for (j, y) in b.enumerated() {
                    let current = row[j + 1]
                    row[j + 1] = min(row[j + 1] + 1, row[j] + 1, previous + (x == y ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        let w = Array(word.lowercased())
        let scored = candidates.map { ($0, distance(w, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
        guard let (best, d) = scored, d <= max(2, w.count / 3) else { return nil }
        return best
    }

    static func didYouMean(_ word: String, _ candidates: [String]) -> String {
        suggestion(for: word, among: candidates).map { "; did you mean '\($0)'?" } ?? " (one of: \(candidates.joined(separator: ", ")))"
    }

    /// One parameter's type in words: `integer 1...256`, `one of minmax, percentile`, `list of string`.
    static func typeText(_ schema: JSONValue) -> String {
        if let values = schema["enum"]?.arrayValue { return "one of " + values.map { $0.stringValue ?? $0.jsonString }.joined(separator: ", ") }
        let type = schema["type"]?.stringValue ?? (schema["type"]?.arrayValue?.compactMap(\.stringValue).joined(separator: "|") ?? "any")
        switch type {
        case "array": return "list of " + typeText(schema["items"] ?? .object([:]))
        case "object": return "object (name: value)"
        case "integer", "number":
            let low = schema["minimum"].map { $0.jsonString } ?? "", high = schema["maximum"].map { $0.jsonString } ?? ""
            return low.isEmpty && high.isEmpty ? type : "\(type) \(low)...\(high)"
        default: return type
        }
    }

    /// `segslim techniques ID`: summary, what it needs, a row per parameter, and the examples
    /// written as command-line options.
    static func describe(_ t: TechniqueListRequest.Technique) {
        print("\(t.id): \(t.summary)")
        if !t.needs.isEmpty { print("needs: \(t.needs.joined(separator: ", "))") }
        let properties = t.parameters["properties"]?.objectValue ?? [:]
        if !properties.isEmpty {
            print("")
            Table.print(header: ["parameter", "type", "default", "meaning"], rows: properties.keys.sorted().map { name in
                let p = properties[name] ?? .null
                return [name, typeText(p), p["default"].map { $0.stringValue ?? $0.jsonString } ?? "-", p["description"]?.stringValue ?? ""]
            })
        }
        if !t.examples.isEmpty {
            print("\nexamples:")
            for e in t.examples {
                let params = (e.parameters.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "--param \($0.key)=\(cliValue($0.value))" }
                print("  \(e.summary)\n    segslim compress MODEL.onnx --technique \(t.id)\(params.map { " " + $0 }.joined()) --out OUT.onnx")
            }
        }
    }

    /// A parameter value as typed on a command line (shell-quoted when it has to be).
    static func cliValue(_ v: JSONValue) -> String {
        if let s = v.stringValue { return s.contains(" ") ? "'\(s)'" : s }
        if let items = v.arrayValue, items.allSatisfy({ $0.stringValue.map { !$0.contains(",") } ?? ($0.doubleValue != nil) }) {
            return items.map { $0.stringValue ?? $0.jsonString }.joined(separator: ",")
        }
        let json = v.jsonString
        return json.contains(" ") || json.contains("\"") ? "'\(json)'" : json
    }

    /// Checks technique ids and parameter names against the daemon's list ("did you mean"),
    /// and turns `a,b` into a list where the schema wants an array.
    static func checked(_ steps: [(String, [String: JSONValue])], _ techniques: [TechniqueListRequest.Technique],
                        command: String) throws -> [(String, [String: JSONValue])] {
        try steps.map { id, params in
            guard let t = techniques.first(where: { $0.id == id }) else {
                throw UsageError(message: "unknown technique '\(id)'\(didYouMean(id, techniques.map(\.id)))", command: command)
            }
            let properties = t.parameters["properties"]?.objectValue ?? [:]
            var out: [String: JSONValue] = [:]
            for (name, value) in params {
                guard let schema = properties[name] else {
                    throw UsageError(message: "technique '\(id)' has no parameter '\(name)'\(didYouMean(name, properties.keys.sorted())); see `segslim techniques \(id)`",
                                     command: command)
                }
                out[name] = shaped(value, schema)
            }
            return (id, out)
        }
    }

    /// `a,b` (a string that is not JSON) as a list when the schema wants one; each element is
    /// JSON when it parses (numbers), else a string.
    static func shaped(_ value: JSONValue, _ schema: JSONValue) -> JSONValue {
        guard schema["type"]?.stringValue == "array", case .string(let raw) = value else { return value }
        return .array(raw.split(separator: ",", omittingEmptySubsequences: false).map { part in
            let s = part.trimmingCharacters(in: .whitespaces)
            return (try? JSONParser.parse(s)) ?? .string(s)
        })
    }
}
