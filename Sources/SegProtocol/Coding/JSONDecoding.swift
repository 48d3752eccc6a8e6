/// The `Decoder` behind `JSONValueDecoder`: one value at one path. Errors are thrown as
/// `ResponseError` directly, so they keep the path they were raised at.
struct JSONDecoding: Decoder {
    let value: JSONValue
    let path: String
    let tracker: KeyTracker
    /// The path of the outermost value (`params`), which `codingPath` is relative to.
    var root: String
    /// Probing: no value behind it; every field reads as absent or as an empty value, so a
    /// synthesized `init(from:)` runs to the end and asks for every key it has.
    var probing = false
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func join(_ path: String, _ key: any CodingKey) -> String {
        if let i = key.intValue, key.stringValue == String(i) { return "\(path)[\(i)]" }
        return "\(path).\(key.stringValue)"
    }

    func child(_ v: JSONValue, _ key: any CodingKey) -> JSONDecoding {
        JSONDecoding(value: v, path: Self.join(path, key), tracker: tracker, root: root, probing: probing, codingPath: codingPath + [key])
    }

    func mismatch(_ type: Any.Type) -> ResponseError {
        let got: String
        if case .double = value, JSONTypeName.of(type) == "an integer" { got = "a fraction" } else { got = value.typeName }
        return .invalidParams("\(path): expected \(JSONTypeName.of(type)), got \(got)")
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if probing { return KeyedDecodingContainer(Keyed<Key>(decoder: self, fields: [:])) }
        guard case .object(let o) = value else { throw mismatch([String: JSONValue].self) }
        tracker.register(path, keys: o.keys)
        return KeyedDecodingContainer(Keyed<Key>(decoder: self, fields: o))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        if probing { return Unkeyed(decoder: self, items: []) }
        guard case .array(let a) = value else { throw mismatch([JSONValue].self) }
        return Unkeyed(decoder: self, items: a)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(decoder: self) }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard let i = value.intValue else { throw mismatch(type) }
        guard let v = T(exactly: i) else { throw ResponseError.invalidParams("\(path): \(i) is out of range \(T.min)...\(T.max)") }
        return v
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        let primitive: Any?
        if probing {
            switch type {
            case is JSONValue.Type: primitive = JSONValue.null
            case is String.Type: primitive = ""
            case is Bool.Type: primitive = false
            case is Double.Type: primitive = 0.0
            case is Float.Type: primitive = Float(0)
            case is Int.Type: primitive = 0
            case is Int64.Type: primitive = Int64(0)
            case is Int32.Type: primitive = Int32(0)
            case is UInt8.Type: primitive = UInt8(0)
            default: primitive = nil
            }
            if let primitive, let v = primitive as? T { return v }
            return try T(from: self)
        }
        switch type {
        case is JSONValue.Type: primitive = value
        case is String.Type:
            guard case .string(let s) = value else { throw mismatch(type) }
            primitive = s
        case is Bool.Type:
            guard case .bool(let b) = value else { throw mismatch(type) }
            primitive = b
        case is Double.Type:
            guard let d = value.doubleValue else { throw mismatch(type) }
            primitive = d
        case is Float.Type:
            guard let d = value.doubleValue else { throw mismatch(type) }
            primitive = Float(d)
        case is Int.Type: primitive = try integer(Int.self)
        case is Int64.Type: primitive = try integer(Int64.self)
        case is Int32.Type: primitive = try integer(Int32.self)
        case is UInt8.Type: primitive = try integer(UInt8.self)
        default: primitive = nil
        }
        if let primitive, let v = primitive as? T { return v }
        do { return try T(from: self) } catch let e as DecodingError {
            throw JSONValueDecoder.responseError(e, root: root)
        }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: JSONDecoding
        let fields: [String: JSONValue]
        var codingPath: [any CodingKey] { decoder.codingPath }
        var allKeys: [Key] {
            for k in fields.keys { decoder.tracker.ask(decoder.path, k) }
            return fields.keys.compactMap(Key.init(stringValue:))
        }

        func contains(_ key: Key) -> Bool {
            decoder.tracker.ask(decoder.path, key.stringValue)
            return fields[key.stringValue] != nil
        }

        func decodeNil(forKey key: Key) throws -> Bool {
            decoder.tracker.ask(decoder.path, key.stringValue)
            return fields[key.stringValue]?.isNull ?? true
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            decoder.tracker.ask(decoder.path, key.stringValue)
            if decoder.probing { return try decoder.child(.null, key).decodeValue(type) }
            guard let v = fields[key.stringValue], !v.isNull else {
                throw ResponseError.invalidParams("\(JSONDecoding.join(decoder.path, key)): required \(JSONTypeName.bare(type)) is missing")
            }
            return try decoder.child(v, key).decodeValue(type)
        }

        func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) throws -> KeyedDecodingContainer<N> {
            try decoder.child(fields[key.stringValue] ?? .null, key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try decoder.child(fields[key.stringValue] ?? .null, key).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { decoder }
        func superDecoder(forKey key: Key) throws -> any Decoder { decoder.child(fields[key.stringValue] ?? .null, key) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let decoder: JSONDecoding
        let items: [JSONValue]
        var currentIndex = 0
        var codingPath: [any CodingKey] { decoder.codingPath }
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        mutating func next() throws -> JSONDecoding {
            guard !isAtEnd else { throw ResponseError.invalidParams("\(decoder.path): expected more elements than \(items.count)") }
            defer { currentIndex += 1 }
            return decoder.child(items[currentIndex], IndexKey(currentIndex))
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, items[currentIndex].isNull else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }
        mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) throws -> KeyedDecodingContainer<N> { try next().container(keyedBy: type) }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
        mutating func superDecoder() throws -> any Decoder { try next() }
    }

    struct Single: SingleValueDecodingContainer {
        let decoder: JSONDecoding
        var codingPath: [any CodingKey] { decoder.codingPath }
        func decodeNil() -> Bool { decoder.value.isNull }  // always true when probing
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(type) }
    }
}

struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String
    init(_ i: Int) { intValue = i; stringValue = String(i) }
    init?(intValue: Int) { self.init(intValue) }
    init?(stringValue: String) { nil }
}

/// A string-keyed coding key for dynamic objects.
struct NameKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
