import Foundation
import SegGraph
import SegProtocol
import SegServer
import SegTechnique
import Testing

/// A technique that exists only in the tests: it renames nothing and records its parameter
/// in the model's metadata, so a test can see that `apply` ran on a copy.
struct TagTechnique: Technique {
    static let descriptor = TechniqueDescriptor(
        id: "tag",
        summary: "Adds a metadata entry (test only)",
        parameters: [
            "type": "object",
            "properties": ["value": ["type": "string", "description": "what to write"]],
            "required": ["value"],
            "additionalProperties": false,
        ],
        needs: [],
        examples: [.init(summary: "tag with 'x'", parameters: ["value": "x"])])

    let value: String

    init(parameters: JSONValue) throws(TechniqueError) {
        guard case .object(let o) = parameters else {
            throw .invalidParameter(name: "(parameters)", reason: "expected an object")
        }
        guard let v = o["value"]?.stringValue else {
            throw .invalidParameter(name: "value", reason: "required string is missing")
        }
        if let extra = o.keys.first(where: { $0 != "value" }) {
            throw .invalidParameter(name: extra, reason: "unknown parameter")
        }
        value = v
    }

    func apply(to model: Model, in context: TechniqueContext) async throws -> TechniqueResult {
        try context.checkCancellation()
        var out = model
        out.metadata["tag"] = value
        context.progress(1, "tagged")
        return TechniqueResult(model: out, details: ["tagged": .string(value)])
    }
}

struct BadIDTechnique: Technique {
    static let descriptor = TechniqueDescriptor(id: "Bad ID", summary: "", parameters: [:])
    init(parameters: JSONValue) throws(TechniqueError) {}
    func apply(to model: Model, in context: TechniqueContext) async throws -> TechniqueResult { .init(model: model) }
}

@Suite struct TechniqueRegistryTests {
    @Test func registryValidatesIdsAndFindsTechniques() throws {
        let r = try TechniqueRegistry([TagTechnique.self])
        #expect(r.ids == ["tag"])
        #expect(throws: TechniqueRegistryError.duplicateID("tag")) { try TechniqueRegistry([TagTechnique.self, TagTechnique.self]) }
        #expect(throws: TechniqueRegistryError.invalidID("Bad ID")) { try TechniqueRegistry([BadIDTechnique.self]) }
        #expect(throws: TechniqueRegistryError.unknownTechnique("nope", known: ["tag"])) { try r.make(id: "nope", parameters: [:]) }
        #expect(throws: TechniqueRegistryError.invalidParameters("tag", .invalidParameter(name: "value", reason: "required parameter is missing"))) {
            try r.make(id: "tag", parameters: [:])
        }
    }

    /// Every worked example of every registered technique, one test case each: the schema
    /// accepts it and so does `init` (examples double as tests, as SwiftLint's rules do).
    static let examples: [String] = TechniqueRegistry.builtIn.techniques.flatMap { t in
        t.descriptor.examples.indices.map { "\(t.descriptor.id)#\($0)" }
    } + ["tag#0"]

    @Test(arguments: examples)
    func exampleIsAcceptedByItsTechnique(_ label: String) throws {
        let parts = label.split(separator: "#")
        let registry = try TechniqueRegistry(TechniqueRegistry.builtIn.techniques + [TagTechnique.self])
        let type = try #require(registry.technique(id: String(parts[0])))
        let example = type.descriptor.examples[try #require(Int(parts[1]))]
        try type.descriptor.validate(example.parameters)
        _ = try registry.make(id: type.descriptor.id, parameters: example.parameters)
    }

    /// Every technique has at least one example, so the parametrized test above covers it.
    @Test func everyRegisteredTechniqueHasExamples() {
        for d in TechniqueRegistry.builtIn.descriptors { #expect(!d.examples.isEmpty, "\(d.id) has no examples") }
    }

    @Test func applyReturnsANewModelAndLeavesTheInputAlone() async throws {
        let t = try TechniqueRegistry([TagTechnique.self]).make(id: "tag", parameters: ["value": "v1"])
        let original = Model(metadata: ["a": "b"])
        let result = try await t.apply(to: original, in: TechniqueContext())
        #expect(result.model.metadata == ["a": "b", "tag": "v1"])
        #expect(original.metadata == ["a": "b"])
    }

    @Test func descriptorsGoOnTheWire() async throws {
        let core = ServerCore(configuration: .init(), registry: try TechniqueRegistry([TagTechnique.self]))
        let c = TestClient(core: core)
        let initResult = try await c.call(1, "initialize")
        #expect(initResult["result"]?["capabilities"]?["techniques"] == ["tag"])
        let list = try await c.call(2, "technique/list")
        let expected: JSONValue = [
            "techniques": [[
                "id": "tag", "summary": "Adds a metadata entry (test only)",
                "parameters": [
                    "type": "object",
                    "properties": ["value": ["type": "string", "description": "what to write"]],
                    "required": ["value"], "additionalProperties": false,
                ],
                "needs": [],
                "examples": [["summary": "tag with 'x'", "parameters": ["value": "x"]]],
            ]]
        ]
        #expect(list["result"] == expected)
    }

    /// Every folder under plugins/ is a technique target and must be registered in
    /// `TechniqueRegistry.builtIn` (SegServer/BuiltInTechniques.swift).
    @Test func everyPluginFolderIsRegistered() throws {
        let plugins = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../plugins").standardized
        var isDir: ObjCBool = false
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: plugins.path)) ?? []).filter {
            FileManager.default.fileExists(atPath: plugins.appendingPathComponent($0).path, isDirectory: &isDir) && isDir.boolValue
        }
        #expect(Set(folders) == Set(TechniqueRegistry.builtInPluginModules))
        #expect(TechniqueRegistry.builtIn.techniques.count >= TechniqueRegistry.builtInPluginModules.count)
    }
}

/// Every method the daemon answers has its page in protocol/methods.
@Suite struct MethodPagesTests {
    @Test func everyServedMethodIsDocumented() {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../protocol/methods").standardized
        let core = ServerCore(configuration: .init(enableDebugMethods: true))
        for method in core.methodNames {
            let page = method.replacingOccurrences(of: "$/", with: "").replacingOccurrences(of: "/", with: "-") + ".md"
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(page).path), "protocol/methods/\(page) missing for \(method)")
        }
    }
}
