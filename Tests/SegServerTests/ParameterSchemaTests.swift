import SegProtocol
import SegServer
import SegTechnique
import Testing

/// The generic parameter check every technique gets from its descriptor's JSON Schema.
@Suite struct ParameterSchemaTests {
    static let schema = ParameterSchema([
        "type": "object",
        "additionalProperties": false,
        "required": ["ratio"],
        "properties": [
            "ratio": ["type": "number", "minimum": 0, "maximum": 0.95],
            "target": ["type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1],
            "count": ["type": "integer", "minimum": 1],
            "mode": ["enum": ["fast", "slow"]],
            "flag": ["type": "boolean"],
            "names": ["type": "array", "items": ["type": "string"], "maxItems": 2],
            "ratios": ["type": "object", "minProperties": 1, "additionalProperties": ["type": "number", "maximum": 0.9]],
            "size": ["oneOf": [["type": "integer", "minimum": 1], ["type": "array", "items": ["type": "integer"], "minItems": 2, "maxItems": 2]]],
            "seed": ["anyOf": [["type": "integer"], ["type": "null"]]],
        ],
    ])

    func failure(_ value: JSONValue) -> TechniqueError? {
        do { try Self.schema.validate(value); return nil } catch { return error }
    }

    @Test func acceptsWhatTheSchemaAllows() throws {
        try Self.schema.validate(["ratio": 0.5, "target": 0.5, "count": 3, "mode": "fast", "flag": true, "names": ["a"],
                                  "ratios": ["c1": 0.2], "size": [4, 8], "seed": .null])
        try Self.schema.validate(["ratio": 0, "count": 3.0, "size": 7, "seed": 1])
    }

    @Test(arguments: [
        (["ratio": 1.5] as JSONValue, "ratio", "1.5 is above the maximum 0.95"),
        (["ratio": -1], "ratio", "-1 is below the minimum 0"),
        (["ratio": "half"], "ratio", "expected a number, got string 'half'"),
        ([:], "ratio", "required parameter is missing"),
        (["ratio": 0.1, "target": 0], "target", "0 is not above the exclusive minimum 0"),
        (["ratio": 0.1, "target": 1], "target", "1 is not below the exclusive maximum 1"),
        (["ratio": 0.1, "count": 2.5], "count", "expected an integer, got number 2.5"),
        (["ratio": 0.1, "mode": "medium"], "mode", "'medium' is not one of fast, slow"),
        (["ratio": 0.1, "flag": 1], "flag", "expected true or false, got number 1"),
        (["ratio": 0.1, "names": ["a", 2]], "names[1]", "expected a string, got number 2"),
        (["ratio": 0.1, "names": ["a", "b", "c"]], "names", "expected at most 2 items, got 3"),
        (["ratio": 0.1, "ratios": ["c1": 0.95]], "ratios.c1", "0.95 is above the maximum 0.9"),
        (["ratio": 0.1, "ratios": [:]], "ratios", "expected a non-empty object"),
        (["ratio": 0.1, "sparsity": 0.5], "sparsity",
         "unknown parameter (known: count, flag, mode, names, ratio, ratios, seed, size, target)"),
        (["ratio": 0.1, "size": [1, "x"]], "size[1]", "expected an integer, got string 'x'"),
        ("ratio", "(parameters)", "expected an object, got string 'ratio'"),
    ] as [(JSONValue, String, String)])
    func rejectsNamingTheParameter(value: JSONValue, name: String, reason: String) {
        #expect(failure(value) == .invalidParameter(name: name, reason: reason))
    }

    @Test func oneOfRejectsAValueMatchingNoneOrBoth() {
        guard case .invalidParameter(let name, let reason)? = failure(["ratio": 0.1, "size": 0]) else {
            Issue.record("size 0 accepted"); return
        }
        #expect(name == "size")
        #expect(reason.contains("does not match any of the 2 accepted forms"))
        let both = ParameterSchema(["oneOf": [["type": "number"], ["type": "integer"]]])
        #expect(throws: TechniqueError.self) { try both.validate(3) }
        #expect(throws: Never.self) { try both.validate(3.5) }
    }

    /// A schema keyword the validator does not know would be a rule published on the wire
    /// that nobody enforces.
    @Test func descriptorsUseOnlyKeywordsTheValidatorChecks() {
        func keywords(_ schema: JSONValue, _ at: String, _ out: inout [String]) {
            guard case .object(let s) = schema else { return }
            for (k, v) in s {
                if !ParameterSchema.supportedKeywords.contains(k) && !ParameterSchema.annotations.contains(k) { out.append("\(at): \(k)") }
                switch k {
                case "properties": for (name, sub) in v.objectValue ?? [:] { keywords(sub, "\(at).\(name)", &out) }
                case "items", "additionalProperties": keywords(v, "\(at).\(k)", &out)
                case "oneOf", "anyOf": for sub in v.arrayValue ?? [] { keywords(sub, "\(at).\(k)", &out) }
                default: break
                }
            }
        }
        for d in TechniqueRegistry.builtIn.descriptors {
            var unknown: [String] = []
            keywords(d.parameters, d.id, &unknown)
            #expect(unknown.isEmpty, "unchecked schema keywords: \(unknown)")
        }
    }

    /// The registry checks the schema before `init`, so a technique that forgets to validate
    /// still never sees a mistyped parameter.
    @Test func registryValidatesBeforeInit() {
        #expect(throws: TechniqueRegistryError.invalidParameters("tag", .invalidParameter(name: "value", reason: "expected a string, got number 3"))) {
            try TechniqueRegistry([TagTechnique.self]).make(id: "tag", parameters: ["value": 3])
        }
    }
}
