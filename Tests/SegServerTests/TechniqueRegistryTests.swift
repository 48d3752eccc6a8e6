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
        #expect(throws: TechniqueRegistryError.invalidParameters("tag", .invalidParameter(name: "value", reason: "required string is missing"))) {
            try r.make(id: "tag", parameters: [:])
        }
    }

    @Test func examplesAreAcceptedByTheirOwnTechnique() throws {
        for t in [TagTechnique.self] as [any Technique.Type] {
            for e in t.descriptor.examples { _ = try t.init(parameters: e.parameters) }
        }
        for t in TechniqueRegistry.builtIn.techniques {
            for e in t.descriptor.examples { _ = try t.init(parameters: e.parameters) }
        }
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
