import Foundation
import Testing
@testable import SegProtocol

/// protocol/README.md is the wire spec users read; its error table must list exactly the codes
/// the daemon sends, in the same order, with the same names.
@Suite struct ProtocolDocumentTests {
    static let protocolFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../protocol").standardized

    @Test func errorTableMatchesErrorCodeAll() throws {
        let text = try String(contentsOf: Self.protocolFolder.appendingPathComponent("README.md"), encoding: .utf8)
        let rows = text.split(separator: "\n").compactMap { line -> (Int, String)? in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, let code = Int(cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))) else { return nil }
            return (code, cells[2].trimmingCharacters(in: CharacterSet(charactersIn: "`")))
        }
        let documented = rows.map { "\($0.0) \($0.1)" }
        let actual = ErrorCode.all.map { "\($0.code.rawValue) \($0.name)" }
        #expect(documented == actual)
    }

    @Test func everyMethodHasAPage() throws {
        let methods = ["initialize", "initialized", "shutdown", "exit", "cancelRequest", "progress",
                       "technique-list", "model-list", "server-status", "debug-sleep", "debug-print",
                       "model-load", "model-info", "model-unload", "model-export", "model-run",
                       "model-segment", "model-evaluate", "model-compare", "model-benchmark", "model-compress", "model-pipeline",
                       "dataset-open", "dataset-list", "dataset-close"]
        for m in methods {
            let page = Self.protocolFolder.appendingPathComponent("methods/\(m).md").path
            #expect(FileManager.default.fileExists(atPath: page), "missing protocol/methods/\(m).md")
        }
    }
}
