/// Decodes `Decodable` types from a `JSONValue`, with errors that name the field path and say
/// why (`params.runs: expected an integer, got string`), the same words `ParamReader` used.
///
/// Strict where a typo would otherwise be ignored: a key present in an object that the type
/// never asked for is an error naming it (except `workDoneToken`, LSP's generic progress field,
/// accepted everywhere). Liberal where clients are sloppy: `null` reads as absent, and an
/// integral double (`3.0`) reads as an integer.
public struct JSONValueDecoder: Sendable {
    /// Reject keys the type did not ask for (on by default).
    public var rejectUnknownFields = true

    public init(rejectUnknownFields: Bool = true) { self.rejectUnknownFields = rejectUnknownFields }

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, path: String = "params") throws(ResponseError) -> T {
        let tracker = KeyTracker()
        if case .object(let o) = value {
            tracker.register(path, keys: o.keys)
            // Unknown top-level fields first, as a typo is the likelier mistake than a missing
            // field ("run" for "runs" must not read as "runs is missing").
            if rejectUnknownFields, let known = Self.fieldNames(of: T.self) {
                try KeyTracker.refuseUnknown(o.keys, allowed: known, path: path)
            }
        }
        let result: T
        do {
            result = try JSONDecoding(value: value, path: path, tracker: tracker, root: path).decodeValue(T.self)
        } catch let e as ResponseError {
            throw e
        } catch let e as DecodingError {
            throw Self.responseError(e, root: path)
        } catch {
            throw .invalidParams("\(path): \(error)")
        }
        if rejectUnknownFields { try tracker.check() }
        return result
    }

    /// The keys a type's `init(from:)` asks for, found by running it over nothing (every field
    /// absent or empty); nil when it does not run that way (a hand-written init that insists).
    package static func fieldNames<T: Decodable>(of type: T.Type, path: String = "params") -> Set<String>? {
        let tracker = KeyTracker()
        do { _ = try JSONDecoding(value: .null, path: path, tracker: tracker, root: path, probing: true).decodeValue(T.self) } catch {
            return nil
        }
        return tracker.asked(path)
    }

    /// Errors thrown by hand-written `init(from:)` (`DecodingError`) in the same shape.
    static func responseError(_ e: DecodingError, root: String) -> ResponseError {
        func path(_ keys: [any CodingKey]) -> String { keys.reduce(root) { JSONDecoding.join($0, $1) } }
        switch e {
        case .dataCorrupted(let c): return .invalidParams("\(path(c.codingPath)): \(c.debugDescription)")
        case .keyNotFound(let k, let c): return .invalidParams("\(path(c.codingPath + [k])): required field is missing")
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return .invalidParams("\(path(c.codingPath)): \(c.debugDescription)")
        @unknown default: return .invalidParams("\(root): \(e)")
        }
    }
}

/// Which keys of each object were present and which the decoded type asked for.
final class KeyTracker {
    private var order: [String] = []
    private var present: [String: [String]] = [:]
    private var asked: [String: Set<String>] = [:]

    func register(_ path: String, keys: Dictionary<String, JSONValue>.Keys) {
        if present[path] == nil { order.append(path) }
        present[path] = Array(keys)
    }

    func ask(_ path: String, _ key: String) { asked[path, default: []].insert(key) }

    func asked(_ path: String) -> Set<String> { asked[path] ?? [] }

    func check() throws(ResponseError) {
        for path in order { try Self.refuseUnknown(present[path] ?? [], allowed: asked[path] ?? [], path: path) }
    }

    static func refuseUnknown(_ keys: some Collection<String>, allowed: Set<String>, path: String) throws(ResponseError) {
        let unknown = keys.filter { !allowed.contains($0) && $0 != "workDoneToken" }.sorted()
        if let first = unknown.first {
            let expected = allowed.isEmpty ? "this method takes no parameters" : "expected one of: \(allowed.sorted().joined(separator: ", "))"
            throw .invalidParams("\(path).\(first): unknown field (\(expected))")
        }
    }
}

/// The name a type goes by in error messages, with its article.
enum JSONTypeName {
    static func of(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Double.Type, is Float.Type: return "a number"
        case is any FixedWidthInteger.Type: return "an integer"
        case is any JSONArrayMarker.Type: return "an array"
        case is JSONValue.Type: return "a value"
        case let t as any JSONNamedType.Type: return t.jsonTypeName
        default: return "an object"
        }
    }

    /// `"required integer is missing"`: the name without its article.
    static func bare(_ type: Any.Type) -> String {
        let n = of(type)
        if n.hasPrefix("an ") { return String(n.dropFirst(3)) }
        if n.hasPrefix("a ") { return String(n.dropFirst(2)) }
        return n
    }
}

protocol JSONArrayMarker {}
extension Array: JSONArrayMarker {}

/// A type that reads as something other than an object names itself (`a string or an integer`).
public protocol JSONNamedType { static var jsonTypeName: String { get } }
