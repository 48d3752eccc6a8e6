/// A request whose params and result are typed: the server registers a handler by the type, the
/// CLI sends through it, and the method pages' examples decode into it (a test checks).
public protocol RPCRequest: Sendable {
    associatedtype Params: Codable & Sendable
    associatedtype Result: Codable & Sendable
    static var method: String { get }
    /// Whether params may carry fields the type does not know (`initialize`: LSP clients send
    /// many); false everywhere else, so a typo is an error.
    static var acceptsUnknownFields: Bool { get }
}

extension RPCRequest {
    public static var acceptsUnknownFields: Bool { false }

    /// Params as the wire carries them, normalized as `ParamReader` did: absent, `null` and
    /// `[]` read as `{}`; a non-empty array (positional params) is refused. Range and value
    /// checks run after decoding (`ValidatingParams`).
    public static func decodeParams(_ params: JSONValue?) throws(ResponseError) -> Params {
        let object: JSONValue
        switch params {
        case nil, .null?: object = .object([:])
        case .array(let a)? where a.isEmpty: object = .object([:])
        case .array?: throw .invalidParams("params: expected an object with named fields, got a non-empty array")
        case .object?: object = params ?? [:]
        case let other?: throw .invalidParams("params: expected an object, got \(other.typeName)")
        }
        let p = try JSONValueDecoder(rejectUnknownFields: !acceptsUnknownFields).decode(Params.self, from: object)
        if let v = p as? any ValidatingParams { try v.validate() }
        return p
    }

    public static func encodeResult(_ result: Result) throws -> JSONValue { try JSONValueEncoder().encode(result) }

    /// For clients: a result as the daemon sent it (unknown fields ignored: a newer daemon
    /// may add some).
    public static func decodeResult(_ json: JSONValue) throws(ResponseError) -> Result {
        try JSONValueDecoder(rejectUnknownFields: false).decode(Result.self, from: json, path: "result")
    }

    public static func encodeParams(_ params: Params) throws -> JSONValue { try JSONValueEncoder().encode(params) }
}

/// Params with checks beyond their types (ranges, enumerations), run after decoding.
public protocol ValidatingParams {
    func validate() throws(ResponseError)
}

/// `params.runs: 0 is out of range 1...100000`, as `ParamReader` said it.
public func checkRange<T: BinaryInteger>(_ value: T?, _ field: String, _ range: ClosedRange<Int64>) throws(ResponseError) {
    guard let value, let v = Int64(exactly: value) else { return }
    if !range.contains(v) { throw .invalidParams("params.\(field): \(v) is out of range \(range.lowerBound)...\(range.upperBound)") }
}

/// No params (`{}`); any field is refused as unknown.
public struct NoParams: Codable, Sendable, Equatable {
    public init() {}
}

/// A `null` result (`shutdown`, `debug/print`).
public struct NullResult: Codable, Sendable, Equatable {
    public init() {}
    public init(from decoder: any Decoder) throws {}
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encodeNil()
    }
}

/// An optional field the wire always carries, as `null` when absent (`"path": null`).
@propertyWrapper
public struct EncodesNull<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var wrappedValue: Value?
    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? nil : try c.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let wrappedValue { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// Lets an `@EncodesNull` field be absent, not only null.
    public func decode<V>(_ type: EncodesNull<V>.Type, forKey key: Key) throws -> EncodesNull<V> {
        try decodeIfPresent(type, forKey: key) ?? EncodesNull(wrappedValue: nil)
    }
}
