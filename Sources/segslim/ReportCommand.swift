import Foundation
import SegProtocol

/// `segslim report`: reads a report file here, without a daemon.
extension Commands {
    static let report = Command(
        name: "report", summary: "Summarise a compression report (OUT.report.json): size, MACs, latency, mIoU per class, steps; --html writes a page",
        usage: "segslim report OUT.report.json [--html PAGE.html] [--overwrite] [--json]",
        run: { _, _, _ in .null },
        runLocal: { args, options in
            var path: String?, page: String?, overwrite = false
            var rest = args[...]
            while let arg = rest.popFirst() {
                switch arg {
                case "--html":
                    guard let v = rest.popFirst() else { throw UsageError(message: "--html needs a file name (PAGE.html)", command: "report") }
                    page = v
                case "--overwrite": overwrite = true
                default:
                    if arg.hasPrefix("--") { throw UsageError(message: "unknown option '\(arg)'", command: "report") }
                    guard path == nil else { throw UsageError(message: "unexpected argument '\(arg)'", command: "report") }
                    path = arg
                }
            }
            guard let path else { throw UsageError(message: "give the report file (OUT.onnx.report.json)", command: "report") }
            let report = try readReport(path)
            let summary = ReportSummary(report)
            if let page {
                if FileManager.default.fileExists(atPath: page) && !overwrite {
                    throw LocalError("\(page) exists; pass --overwrite to replace it")
                }
                let html = summary.html(title: "SegSlim report: " + (path as NSString).lastPathComponent)
                do { try Data(html.utf8).write(to: URL(fileURLWithPath: page), options: .atomic) } catch {
                    throw LocalError("cannot write \(page): \(error.localizedDescription)")
                }
            }
            if !options.json {
                summary.printText()
                if let page { print("\npage  \(page)") }
            }
            return .object(["report": .string(path), "page": page.map(JSONValue.string) ?? .null, "summary": report])
        })

    /// The report's JSON, with errors that say which file and what is wrong with it.
    static func readReport(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LocalError(FileManager.default.fileExists(atPath: path) ? "cannot read \(path)" : "no such file: \(path)")
        }
        let value: JSONValue
        do { value = try JSONParser.parse([UInt8](data)) } catch {
            throw LocalError("\(path) is not JSON (\(error)); pass the .report.json written beside a compressed model")
        }
        guard value["before"] != nil || value["steps"] != nil else {
            throw LocalError("\(path) is JSON but not a SegSlim compression report (no \"before\" or \"steps\")")
        }
        return value
    }
}

/// A failure of a command that runs here (exit 1), in the user's words.
struct LocalError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
