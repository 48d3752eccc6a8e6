import Foundation
import SegProtocol
import SegServer
import SegTransport
import Testing

/// Replays every example transcript in protocol/transcripts against an in-process server.
/// `> ` lines are sent; a `< ` line waits for its message: a response is matched by id (answers
/// may come out of order), a notification is the next unread one, an array is the next batch
/// answer (its entries in any order). `"<any>"` matches anything.
@Suite struct TranscriptTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../protocol/transcripts").standardized

    /// What `${FIXTURES}` in a sent line stands for.
    static let fixtures = URL(fileURLWithPath: ModelMethodTests.fixture("."))

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".transcript") }.sorted()
    }

    @Test func thereAreTranscripts() {
        #expect(Self.files.count >= 2)
    }

    @Test(arguments: files)
    func replay(_ name: String) async throws {
        let text = try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8)
        let c = TestClient()
        var consumedNotifications = 0
        var consumedResponses = 0
        var consumedBatches = 0
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var unsent: [UInt8] = []
        for (number, line) in lines.enumerated() {
            guard line.hasPrefix(">") || line.hasPrefix("<") else { continue }
            // `>+` goes out in the same write as the `>` line before it.
            let together = line.hasPrefix(">+")
            let text = String(line.dropFirst(together ? 2 : 1)).replacingOccurrences(of: "${FIXTURES}", with: Self.fixtures.path)
            let json = try JSONParser.parse(text)
            let place = "\(name):\(number + 1)"
            if line.hasPrefix(">") {
                unsent += MessageWriter.frame(json.serialized(), framing: c.framing)
                let next = lines[(number + 1)...].first { $0.hasPrefix(">") || $0.hasPrefix("<") }
                if next?.hasPrefix(">+") != true {
                    c.sendRaw(unsent)
                    unsent = []
                }
                continue
            }
            if case .array(let expectedBatch) = json {
                let index = consumedBatches
                let all = try await c.waitFor("batch answer at \(place)") { $0.filter { $0.arrayValue != nil }.count > index }
                let actual = all.filter { $0.arrayValue != nil }[index].arrayValue ?? []
                let unmatched = expectedBatch.filter { e in !actual.contains { Self.matches(e, $0) } }
                #expect(actual.count == expectedBatch.count && unmatched.isEmpty, "\(place): expected \(json), got \(actual)")
                consumedBatches += 1
            } else if json["method"] != nil {
                let index = consumedNotifications
                let all = try await c.waitFor("notification at \(place)") { $0.filter { $0["method"] != nil }.count > index }
                let actual = all.filter { $0["method"] != nil }[index]
                #expect(Self.matches(json, actual), "\(place): expected \(json), got \(actual)")
                consumedNotifications += 1
            } else {
                let id = json["id"] ?? .null
                let actual = try await c.response(id)
                #expect(Self.matches(json, actual), "\(place): expected \(json), got \(actual)")
                consumedResponses += 1
            }
        }
        try await Task.sleep(nanoseconds: 100_000_000)
        let extra = c.messages.count - consumedNotifications - consumedResponses - consumedBatches
        #expect(extra == 0, "\(name): \(extra) messages the transcript does not expect: \(c.messages.suffix(max(extra, 0)))")
    }

    static func matches(_ expected: JSONValue, _ actual: JSONValue) -> Bool {
        switch (expected, actual) {
        case (.string("<any>"), _): return true
        case (.object(let e), .object(let a)):
            return e.count == a.count && e.allSatisfy { k, v in a[k].map { matches(v, $0) } ?? false }
        case (.array(let e), .array(let a)):
            return e.count == a.count && zip(e, a).allSatisfy { matches($0, $1) }
        default: return expected.semanticallyEquals(actual)
        }
    }
}
