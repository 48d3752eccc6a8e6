/// Encodes `Encodable` types into a `JSONValue`. Integers stay `.int`, floating point `.double`;
/// an optional that is nil is left out (use `@EncodesNull` for fields the wire spells as null).
public struct JSONValueEncoder: Sendable {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        if let v = value as? JSONValue { return v }
        let box = Box()
        try value.encode(to: JSONEncoding(box: box))
        return box.value
    }
}

/// A slot that a container fills; nested containers hold their parent's slot and write back.
final class Box {
    var value: JSONValue = .null
    init() {}
}

struct JSONEncoding: Encoder {
    let box: Box
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if box.value.objectValue == nil { box.value = .object([:]) }
        return KeyedEncodingContainer(Keyed<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if box.value.arrayValue == nil { box.value = .array([]) }
        return Unkeyed(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(box: box, codingPath: codingPath) }

    static func primitive<T: Encodable>(_ value: T) throws -> JSONValue {
        switch value {
        case let v as JSONValue: return v
        case let v as String: return .string(v)
        case let v as Bool: return .bool(v)
        case let v as Double: return .double(v)
        case let v as Float: return .double(Double(v))
        case let v as Int: return .int(Int64(v))
        case let v as Int64: return .int(v)
        case let v as Int32: return .int(Int64(v))
        case let v as UInt8: return .int(Int64(v))
        default:
            let box = Box()
            try value.encode(to: JSONEncoding(box: box))
            return box.value
        }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let box: Box
        var codingPath: [any CodingKey]

        func set(_ v: JSONValue, _ key: Key) {
            guard case .object(var o) = box.value else { return }
            box.value = .null  // keep the dictionary uniquely referenced while it changes
            o[key.stringValue] = v
            box.value = .object(o)
        }

        mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { set(try JSONEncoding.primitive(value), key) }

        mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) -> KeyedEncodingContainer<N> {
            let child = ChildBox(parent: self, key: key)
            return KeyedEncodingContainer(ChildKeyed<N, Key>(child: child, inner: Keyed<N>(box: child.box, codingPath: codingPath + [key])))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            set(.array([]), key)
            return KeyedChildUnkeyed(parent: self, key: key, codingPath: codingPath + [key])
        }

        mutating func superEncoder() -> any Encoder { JSONEncoding(box: box, codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { JSONEncoding(box: box, codingPath: codingPath) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let box: Box
        var codingPath: [any CodingKey]
        var count: Int { box.value.arrayValue?.count ?? 0 }

        func append(_ v: JSONValue) {
            guard case .array(var a) = box.value else { return }
            box.value = .null
            a.append(v)
            box.value = .array(a)
        }

        mutating func encodeNil() throws { append(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws { append(try JSONEncoding.primitive(value)) }
        mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) -> KeyedEncodingContainer<N> {
            // Rarely used by synthesized code; encode through a detached box and append at once.
            append(.object([:]))
            return KeyedEncodingContainer(Keyed<N>(box: Box(), codingPath: codingPath))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { Unkeyed(box: Box(), codingPath: codingPath) }
        mutating func superEncoder() -> any Encoder { JSONEncoding(box: box, codingPath: codingPath) }
    }

    struct Single: SingleValueEncodingContainer {
        let box: Box
        var codingPath: [any CodingKey]
        mutating func encodeNil() throws { box.value = .null }
        mutating func encode<T: Encodable>(_ value: T) throws { box.value = try JSONEncoding.primitive(value) }
    }
}

/// Nested keyed containers (hand-written `encode(to:)` only): write the child object back into
/// the parent on every change.
final class ChildBox<Key: CodingKey> {
    let parent: JSONEncoding.Keyed<Key>
    let key: Key
    let box = Box()
    init(parent: JSONEncoding.Keyed<Key>, key: Key) {
        self.parent = parent
        self.key = key
        box.value = .object([:])
        parent.set(box.value, key)
    }
    func flush() { parent.set(box.value, key) }
}

struct ChildKeyed<N: CodingKey, P: CodingKey>: KeyedEncodingContainerProtocol {
    let child: ChildBox<P>
    var inner: JSONEncoding.Keyed<N>
    var codingPath: [any CodingKey] { inner.codingPath }
    mutating func encodeNil(forKey key: N) throws { try inner.encodeNil(forKey: key); child.flush() }
    mutating func encode<T: Encodable>(_ value: T, forKey key: N) throws { try inner.encode(value, forKey: key); child.flush() }
    mutating func nestedContainer<M: CodingKey>(keyedBy type: M.Type, forKey key: N) -> KeyedEncodingContainer<M> { inner.nestedContainer(keyedBy: type, forKey: key) }
    mutating func nestedUnkeyedContainer(forKey key: N) -> any UnkeyedEncodingContainer { inner.nestedUnkeyedContainer(forKey: key) }
    mutating func superEncoder() -> any Encoder { inner.superEncoder() }
    mutating func superEncoder(forKey key: N) -> any Encoder { inner.superEncoder(forKey: key) }
}

struct KeyedChildUnkeyed<P: CodingKey>: UnkeyedEncodingContainer {
    let parent: JSONEncoding.Keyed<P>
    let key: P
    var codingPath: [any CodingKey]
    var items: [JSONValue] = []
    var count: Int { items.count }
    init(parent: JSONEncoding.Keyed<P>, key: P, codingPath: [any CodingKey]) {
        self.parent = parent
        self.key = key
        self.codingPath = codingPath
    }
    mutating func add(_ v: JSONValue) { items.append(v); parent.set(.array(items), key) }
    mutating func encodeNil() throws { add(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws { add(try JSONEncoding.primitive(value)) }
    mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) -> KeyedEncodingContainer<N> { KeyedEncodingContainer(JSONEncoding.Keyed<N>(box: Box(), codingPath: codingPath)) }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { JSONEncoding.Unkeyed(box: Box(), codingPath: codingPath) }
    mutating func superEncoder() -> any Encoder { JSONEncoding(box: Box(), codingPath: codingPath) }
}
