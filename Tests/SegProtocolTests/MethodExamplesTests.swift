import Foundation
import Testing
@testable import SegProtocol

/// Every JSON example on a method page decodes into the method's message type and encodes back
/// to the same JSON, so the pages cannot drift from the types the daemon and CLI use: the
/// `> request` / `< response` lines of example transcripts, and the bare params/result objects
/// shown under "## Params" / "## Result".
@Suite struct MethodExamplesTests {
    static let folder = ProtocolDocumentTests.protocolFolder.appendingPathComponent("methods")

    /// A method's params and result round trip, whatever its types.
    struct Codec: Sendable {
        var params: @Sendable (JSONValue) throws -> JSONValue
        var result: @Sendable (JSONValue) throws -> JSONValue
        /// The fields the params type takes.
        var fields: Set<String>?

        init<R: RPCRequest>(_ type: R.Type) {
            fields = JSONValueDecoder.fieldNames(of: R.Params.self)
            params = { json in try R.encodeParams(try R.decodeParams(json)) }
            result = { json in try JSONValueEncoder().encode(try JSONValueDecoder().decode(R.Result.self, from: json, path: "result")) }
        }

        init<P: Codable>(notification type: P.Type) {
            fields = JSONValueDecoder.fieldNames(of: P.self)
            params = { json in try JSONValueEncoder().encode(try JSONValueDecoder().decode(P.self, from: json)) }
            result = { _ in throw ResponseError(.invalidRequest, "a notification has no result") }
        }
    }

    static let codecs: [String: Codec] = [
        InitializeRequest.method: Codec(InitializeRequest.self),
        ServerStatusRequest.method: Codec(ServerStatusRequest.self),
        TechniqueListRequest.method: Codec(TechniqueListRequest.self),
        DebugSleepRequest.method: Codec(DebugSleepRequest.self),
        DebugPrintRequest.method: Codec(DebugPrintRequest.self),
        ModelLoadRequest.method: Codec(ModelLoadRequest.self),
        ModelInfoRequest.method: Codec(ModelInfoRequest.self),
        ModelListRequest.method: Codec(ModelListRequest.self),
        ModelUnloadRequest.method: Codec(ModelUnloadRequest.self),
        ModelExportRequest.method: Codec(ModelExportRequest.self),
        ModelAnnotateRequest.method: Codec(ModelAnnotateRequest.self),
        ModelRunRequest.method: Codec(ModelRunRequest.self),
        ModelSegmentRequest.method: Codec(ModelSegmentRequest.self),
        ModelEvaluateRequest.method: Codec(ModelEvaluateRequest.self),
        ModelCompareRequest.method: Codec(ModelCompareRequest.self),
        ModelBenchmarkRequest.method: Codec(ModelBenchmarkRequest.self),
        ModelCompressRequest.method: Codec(ModelCompressRequest.self),
        ModelPipelineRequest.method: Codec(ModelPipelineRequest.self),
        ModelSensitivityRequest.method: Codec(ModelSensitivityRequest.self),
        ModelAutoCompressRequest.method: Codec(ModelAutoCompressRequest.self),
        ModelVariantsRequest.method: Codec(ModelVariantsRequest.self),
        ModelTrainRequest.method: Codec(ModelTrainRequest.self),
        ModelBuildRequest.method: Codec(ModelBuildRequest.self),
        DatasetOpenRequest.method: Codec(DatasetOpenRequest.self),
        DatasetListRequest.method: Codec(DatasetListRequest.self),
        DatasetCloseRequest.method: Codec(DatasetCloseRequest.self),
        CancelRequestNotification.method: Codec(notification: CancelRequestNotification.self),
        ProgressNotification.method: Codec(notification: ProgressNotification.self),
    ]

    /// Methods whose params/result are nothing or null: no type to check beyond that.
    static let untyped: Set<String> = ["initialized", "shutdown", "exit"]

    struct Page {
        var file: String
        var method: String
        /// `(section, fenced block language, block text)` in page order.
        var blocks: [(section: String, language: String, text: String)]
    }

    static func pages() throws -> [Page] {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".md") }.sorted()
        return try files.map { file in
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let title = lines.first { $0.hasPrefix("# ") } ?? ""
            let method = title.split(separator: "`").dropFirst().first.map(String.init) ?? ""
            var blocks: [(String, String, String)] = []
            var section = "", language: String? = nil, body: [String] = []
            for line in lines {
                if let lang = language {
                    if line.hasPrefix("```") {
                        blocks.append((section, lang, body.joined(separator: "\n")))
                        language = nil
                        body = []
                    } else {
                        body.append(line)
                    }
                } else if line.hasPrefix("```") {
                    language = String(line.dropFirst(3))
                } else if line.hasPrefix("## ") {
                    section = String(line.dropFirst(3))
                }
            }
            return Page(file: file, method: method, blocks: blocks)
        }
    }

    /// `workDoneToken` belongs to the connection, not the method; absent, null and `[]` params
    /// all mean `{}`.
    static func withoutWorkDoneToken(_ v: JSONValue) -> JSONValue {
        if v.isNull || v == [] { return [:] }
        guard case .object(var o) = v else { return v }
        o["workDoneToken"] = nil
        return .object(o)
    }

    static func roundTrip(_ json: JSONValue, _ codec: @Sendable (JSONValue) throws -> JSONValue, _ place: String, strip: Bool) {
        do {
            let back = try codec(json)
            let expected = strip ? withoutWorkDoneToken(json) : json
            #expect((strip ? withoutWorkDoneToken(back) : back).semanticallyEquals(expected), "\(place): encodes back as \(back), not \(expected)")
        } catch {
            Issue.record("\(place): \(json) does not decode: \(error)")
        }
    }

    @Test func everyPageNamesATypedMethod() throws {
        for page in try Self.pages() where !Self.untyped.contains(page.method) {
            #expect(Self.codecs[page.method] != nil, "\(page.file): no message type for '\(page.method)'")
        }
    }

    @Test func transcriptExamplesRoundTrip() throws {
        var checked = 0
        for page in try Self.pages() {
            var methodOfID: [JSONValue: String] = [:]
            for block in page.blocks {
                for line in block.text.split(separator: "\n") where line.hasPrefix("> ") || line.hasPrefix("< ") {
                    let place = "\(page.file): \(line.prefix(60))"
                    guard let json = try? JSONParser.parse(String(line.dropFirst(2))) else {
                        Issue.record("\(place): not JSON")
                        continue
                    }
                    for message in json.arrayValue ?? [json] {
                        if let method = message["method"]?.stringValue {
                            if let id = message["id"] { methodOfID[id] = method }
                            guard let codec = Self.codecs[method], let params = message["params"] else { continue }
                            Self.roundTrip(params, codec.params, place, strip: true)
                            checked += 1
                        } else if let id = message["id"], let method = methodOfID[id], let result = message["result"],
                                  let codec = Self.codecs[method] {
                            Self.roundTrip(result, codec.result, place, strip: false)
                            checked += 1
                        }
                    }
                }
            }
        }
        #expect(checked >= 20, "only \(checked) examples found: is the page format still understood?")
    }

    /// A `json` block under Params or Result is either a JSON Schema (it has `type`) or an
    /// example, which must decode.
    @Test func bareExamplesRoundTrip() throws {
        var checked = 0
        for page in try Self.pages() {
            guard let codec = Self.codecs[page.method] else { continue }
            for block in page.blocks where block.language == "json" {
                let isParams = block.section.hasPrefix("Params"), isResult = block.section.hasPrefix("Result")
                guard isParams || isResult else { continue }
                let place = "\(page.file) (\(block.section))"
                let json: JSONValue
                do { json = try JSONParser.parse(block.text) } catch {
                    Issue.record("\(place): example is not JSON: \(error)")
                    continue
                }
                // Schemas, and whole messages (an error reply) rather than a params/result object.
                if json["type"] != nil || json["$schema"] != nil || json["jsonrpc"] != nil { continue }
                Self.roundTrip(json, isParams ? codec.params : codec.result, place, strip: isParams)
                checked += 1
            }
        }
        #expect(checked >= 3)
    }

    /// A params schema lists exactly the fields the params type takes (`workDoneToken` aside:
    /// every method accepts it), so the schema and the type cannot drift either.
    @Test func paramSchemasListTheTypesFields() throws {
        var checked = 0
        for page in try Self.pages() {
            // Notifications have hand-written coders whose fields cannot be probed.
            guard let codec = Self.codecs[page.method], codec.fields != nil else { continue }
            for block in page.blocks where block.language == "json" && block.section.hasPrefix("Params") {
                guard let schema = try? JSONParser.parse(block.text), let properties = schema["properties"]?.objectValue else { continue }
                let documented = Set(properties.keys).subtracting(["workDoneToken"])
                let typed = codec.fields?.subtracting(["workDoneToken"])
                #expect(typed == documented, "\(page.file): schema lists \(documented.sorted()), type takes \(typed?.sorted() ?? [])")
                checked += 1
            }
        }
        #expect(checked >= 10)
    }
}
