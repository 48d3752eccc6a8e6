/// Reads request params field by field with errors that name the field and say why
/// ("params.runs: expected an integer, got string"). Liberal where real clients are sloppy:
/// absent params, `null`, `{}` and `[]` all read as "no fields".
public struct ParamReader: Sendable {
    public let fields: [String: JSONValue]
    public let path: String

    public init(_ params: JSONValue?, path: String = "params") throws(ResponseError) {
        self.path = path
        switch params {
        case nil, .null?: fields = [:]
        case .object(let o)?: fields = o
        case .array(let a)? where a.isEmpty: fields = [:]
        case .array?:
            throw .invalidParams("\(path): expected an object with named fields, got a non-empty array")
        case let other?:
            throw .invalidParams("\(path): expected an object, got \(other.typeName)")
        }
    }

    func fail(_ key: String, _ why: String) -> ResponseError { .invalidParams("\(path).\(key): \(why)") }

    func present(_ key: String) -> JSONValue? {
        guard let v = fields[key], !v.isNull else { return nil }
        return v
    }

    public func has(_ key: String) -> Bool { present(key) != nil }

    public func string(_ key: String) throws(ResponseError) -> String {
        guard let v = try optionalString(key) else { throw fail(key, "required string is missing") }
        return v
    }

    public func optionalString(_ key: String) throws(ResponseError) -> String? {
        guard let v = present(key) else { return nil }
        guard case .string(let s) = v else { throw fail(key, "expected a string, got \(v.typeName)") }
        return s
    }

    public func int(_ key: String, range: ClosedRange<Int64>? = nil) throws(ResponseError) -> Int64 {
        guard let v = try optionalInt(key, range: range) else { throw fail(key, "required integer is missing") }
        return v
    }

    public func optionalInt(_ key: String, range: ClosedRange<Int64>? = nil) throws(ResponseError) -> Int64? {
        guard let v = present(key) else { return nil }
        guard let i = v.intValue else { throw fail(key, "expected an integer, got \(v.typeName == "number" ? "a fraction" : v.typeName)") }
        if let range, !range.contains(i) {
            throw fail(key, "\(i) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return i
    }

    public func optionalDouble(_ key: String) throws(ResponseError) -> Double? {
        guard let v = present(key) else { return nil }
        guard let d = v.doubleValue else { throw fail(key, "expected a number, got \(v.typeName)") }
        return d
    }

    public func optionalBool(_ key: String) throws(ResponseError) -> Bool? {
        guard let v = present(key) else { return nil }
        guard case .bool(let b) = v else { throw fail(key, "expected a boolean, got \(v.typeName)") }
        return b
    }

    public func optionalObject(_ key: String) throws(ResponseError) -> ParamReader? {
        guard let v = present(key) else { return nil }
        guard case .object = v else { throw fail(key, "expected an object, got \(v.typeName)") }
        return try ParamReader(v, path: "\(path).\(key)")
    }

    public func optionalArray(_ key: String) throws(ResponseError) -> [JSONValue]? {
        guard let v = present(key) else { return nil }
        guard case .array(let a) = v else { throw fail(key, "expected an array, got \(v.typeName)") }
        return a
    }

    /// A progress token as LSP defines it: a string or an integer.
    public func optionalToken(_ key: String) throws(ResponseError) -> ProgressToken? {
        guard let v = present(key) else { return nil }
        guard let t = ProgressToken(json: v) else { throw fail(key, "expected a string or an integer, got \(v.typeName)") }
        return t
    }

    /// Refuses fields this method does not know, so a typo ("run" for "runs") is an error
    /// instead of a silently ignored option.
    /// `workDoneToken` is LSP's generic progress field and is accepted everywhere.
    public func rejectUnknown(allowed: Set<String>) throws(ResponseError) {
        let unknown = fields.keys.filter { !allowed.contains($0) && $0 != "workDoneToken" }.sorted()
        if let first = unknown.first {
            let expected = allowed.isEmpty ? "this method takes no parameters" : "expected one of: \(allowed.sorted().joined(separator: ", "))"
            throw .invalidParams("\(path).\(first): unknown field (\(expected))")
        }
    }
}
