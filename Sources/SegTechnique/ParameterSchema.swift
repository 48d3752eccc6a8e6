import SegProtocol

/// Checks technique parameters against the JSON Schema a descriptor publishes, so the schema
/// on the wire is the one rule: a plugin reads values it knows are well-typed and in range,
/// and keeps only its cross-field checks (`targetMacs` with `ratio`, say).
///
/// Covers the draft 2020-12 subset the descriptors use (`supportedKeywords`): `type` (one name
/// or a list), `enum`, `const`, `minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum`,
/// `minItems`/`maxItems`, `items`, `properties`, `required`, `additionalProperties` (false or
/// a schema), `minProperties`, `oneOf`, `anyOf`. Annotations (`default`, `description`, ...)
/// are ignored. Errors name the parameter by path: `ratio`, `ratios.conv1`, `inputShapes.x[2]`.
public struct ParameterSchema: Sendable {
    public let schema: JSONValue

    public init(_ schema: JSONValue) {
        self.schema = schema
    }

    /// Keywords the validator acts on; `annotations` it knowingly skips. A test checks that
    /// every descriptor sticks to these, so a schema never promises a rule nobody enforces.
    public static let supportedKeywords: Set<String> = [
        "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems",
        "items", "properties", "required", "additionalProperties", "minProperties", "oneOf", "anyOf",
    ]
    public static let annotations: Set<String> = ["$schema", "default", "description", "title", "examples"]

    /// Throws `invalidParameter` naming the first offending parameter.
    public func validate(_ value: JSONValue) throws(TechniqueError) {
        if let failure = Self.check(value, schema, path: []) {
            throw .invalidParameter(name: failure.path.isEmpty ? "(parameters)" : Self.name(failure.path), reason: failure.reason)
        }
    }

    // MARK: - Checking

    enum Step: Equatable {
        case key(String)
        case index(Int)
    }

    struct Failure {
        var path: [Step]
        var reason: String
    }

    static func name(_ path: [Step]) -> String {
        var out = ""
        for step in path {
            switch step {
            case .key(let k): out += out.isEmpty ? k : ".\(k)"
            case .index(let i): out += "[\(i)]"
            }
        }
        return out
    }

    /// The first failure, depth first, or nil when `value` satisfies `schema`.
    static func check(_ value: JSONValue, _ schema: JSONValue, path: [Step]) -> Failure? {
        guard case .object(let s) = schema else {
            // `true` accepts everything, `false` nothing (2020-12 boolean schemas).
            return schema == .bool(false) ? Failure(path: path, reason: "is not allowed") : nil
        }
        func fail(_ reason: String) -> Failure { Failure(path: path, reason: reason) }

        if let type = s["type"] {
            let names = type.arrayValue?.compactMap(\.stringValue) ?? type.stringValue.map { [$0] } ?? []
            if !names.contains(where: { matches(value, type: $0) }) {
                return fail("expected \(names.map(article).joined(separator: " or ")), got \(describe(value))")
            }
        }
        if let allowed = s["enum"]?.arrayValue, !allowed.contains(where: { $0.semanticallyEquals(value) }) {
            return fail("\(render(value)) is not one of \(allowed.map { $0.stringValue ?? $0.jsonString }.joined(separator: ", "))")
        }
        if let c = s["const"], !c.semanticallyEquals(value) {
            return fail("expected \(render(c)), got \(render(value))")
        }
        if let x = value.doubleValue {
            for (keyword, violates, words) in bounds {
                if let bound = s[keyword], let b = bound.doubleValue, violates(x, b) { return fail("\(render(value)) \(words) \(bound.jsonString)") }
            }
        }
        if case .array(let items) = value {
            if let n = s["minItems"]?.intValue, items.count < n { return fail("expected at least \(n) items, got \(items.count)") }
            if let n = s["maxItems"]?.intValue, items.count > n { return fail("expected at most \(n) items, got \(items.count)") }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() {
                    if let f = check(item, itemSchema, path: path + [.index(i)]) { return f }
                }
            }
        }
        if case .object(let fields) = value {
            let properties = s["properties"]?.objectValue ?? [:]
            if let n = s["minProperties"]?.intValue, fields.count < n {
                return fail(n == 1 ? "expected a non-empty object" : "expected at least \(n) entries, got \(fields.count)")
            }
            for required in s["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where fields[required] == nil {
                return Failure(path: path + [.key(required)], reason: "required parameter is missing")
            }
            // Sorted, so the same bad request always names the same field first.
            for (key, v) in fields.sorted(by: { $0.key < $1.key }) {
                if let p = properties[key] {
                    if let f = check(v, p, path: path + [.key(key)]) { return f }
                } else if let extra = s["additionalProperties"] {
                    if extra == .bool(false) {
                        let known = properties.keys.sorted().joined(separator: ", ")
                        return Failure(path: path + [.key(key)], reason: "unknown parameter (known: \(known.isEmpty ? "none" : known))")
                    }
                    if let f = check(v, extra, path: path + [.key(key)]) { return f }
                }
            }
        }
        if let branches = s["anyOf"]?.arrayValue {
            let failures = branches.compactMap { check(value, $0, path: path) }
            if failures.count == branches.count { return closest(failures, path: path, what: "any of the \(branches.count) accepted forms") }
        }
        if let branches = s["oneOf"]?.arrayValue {
            let failures = branches.compactMap { check(value, $0, path: path) }
            let passed = branches.count - failures.count
            if passed == 0 { return closest(failures, path: path, what: "any of the \(branches.count) accepted forms") }
            if passed > 1 { return fail("matches \(passed) of the accepted forms; exactly one must match") }
        }
        return nil
    }

    /// When no branch matched, the failure deepest inside the value says most about what is
    /// wrong (a bad item rather than "not any form").
    static func closest(_ failures: [Failure], path: [Step], what: String) -> Failure {
        let deepest = failures.max { $0.path.count < $1.path.count }
        if let deepest, deepest.path.count > path.count { return deepest }
        return Failure(path: path, reason: "does not match \(what) (\(failures.map(\.reason).joined(separator: "; ")))")
    }

    static let bounds: [(keyword: String, violates: @Sendable (Double, Double) -> Bool, words: String)] = [
        ("minimum", { $0 < $1 }, "is below the minimum"),
        ("maximum", { $0 > $1 }, "is above the maximum"),
        ("exclusiveMinimum", { $0 <= $1 }, "is not above the exclusive minimum"),
        ("exclusiveMaximum", { $0 >= $1 }, "is not below the exclusive maximum"),
    ]

    static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): return true
        case ("number", .int): return true
        case ("number", .double(let d)): return d.isFinite
        case ("integer", _): return value.intValue != nil
        default: return false
        }
    }

    static func article(_ type: String) -> String {
        switch type {
        case "integer", "array", "object": return "an \(type)"
        case "boolean": return "true or false"
        case "null": return "null"
        default: return "a \(type)"
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .int, .double, .bool: return "\(value.typeName) \(value.jsonString)"
        case .string(let s): return "string '\(s)'"
        default: return value.typeName
        }
    }

    static func render(_ value: JSONValue) -> String {
        if case .string(let s) = value { return "'\(s)'" }
        return value.jsonString
    }
}

extension TechniqueDescriptor {
    /// Checks `parameters` against `self.parameters` (see `ParameterSchema`).
    public func validate(_ parameters: JSONValue) throws(TechniqueError) {
        try ParameterSchema(self.parameters).validate(parameters)
    }
}
