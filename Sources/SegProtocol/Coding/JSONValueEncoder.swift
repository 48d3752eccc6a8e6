/// Encodes `Encodable` types into a `JSONValue`. Integers stay `.int`, floating point `.double`;
/// an optional that is nil is left out (use `@EncodesNull` for fields the wire spells as null).
public struct JSONValueEncoder: Sendable {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> JSONValue { try JSONEncoding.primitive(value) }
}

/// A value under construction. A nested container writes into its own slot and copies the
/// slot into its parent after every change, so containers may be nested to any depth.
final class Slot {
    var value: JSONValue
    let parent: (slot: Slot, place: Place)?

    enum Place {
        case key(String)
        case index(Int)
    }

    init(_ value: JSONValue = .null, parent: (Slot, Place)? = nil) {
        self.value = value
        self.parent = parent.map { (slot: $0.0, place: $0.1) }
        changed()
    }

    /// Copies this value into the parent, and so on up.
    func changed() {
        guard let (slot, place) = parent else { return }
        switch (slot.value, place) {
        case (.object(var o), .key(let k)):
            slot.value = .null  // keep the storage uniquely referenced while it changes
            o[k] = value
            slot.value = .object(o)
        case (.array(var a), .index(let i)) where i < a.count:
            slot.value = .null
            a[i] = value
            slot.value = .array(a)
        default: return
        }
        slot.changed()
    }

    func set(_ key: String, _ v: JSONValue) {
        guard case .object(var o) = value else { return }
        value = .null
        o[key] = v
        value = .object(o)
        changed()
    }

    /// Appends and returns the new element's index.
    @discardableResult
    func append(_ v: JSONValue) -> Int {
        guard case .array(var a) = value else { return 0 }
        value = .null
        a.append(v)
        value = .array(a)
        changed()
        return a.count - 1
    }
}

struct JSONEncoding: Encoder {
    let slot: Slot
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if slot.value.objectValue == nil { slot.value = .object([:]); slot.changed() }
        return KeyedEncodingContainer(Keyed<Key>(slot: slot, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if slot.value.arrayValue == nil { slot.value = .array([]); slot.changed() }
        return Unkeyed(slot: slot, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(slot: slot, codingPath: codingPath) }

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
            let slot = Slot()
            try value.encode(to: JSONEncoding(slot: slot))
            return slot.value
        }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let slot: Slot
        var codingPath: [any CodingKey]

        mutating func encodeNil(forKey key: Key) throws { slot.set(key.stringValue, .null) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { slot.set(key.stringValue, try JSONEncoding.primitive(value)) }

        mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) -> KeyedEncodingContainer<N> {
            KeyedEncodingContainer(Keyed<N>(slot: Slot(.object([:]), parent: (slot, .key(key.stringValue))), codingPath: codingPath + [key]))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            Unkeyed(slot: Slot(.array([]), parent: (slot, .key(key.stringValue))), codingPath: codingPath + [key])
        }

        mutating func superEncoder() -> any Encoder { JSONEncoding(slot: Slot(.null, parent: (slot, .key("super"))), codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            JSONEncoding(slot: Slot(.null, parent: (slot, .key(key.stringValue))), codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let slot: Slot
        var codingPath: [any CodingKey]
        var count: Int { slot.value.arrayValue?.count ?? 0 }

        mutating func encodeNil() throws { slot.append(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws { slot.append(try JSONEncoding.primitive(value)) }

        mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) -> KeyedEncodingContainer<N> {
            let i = slot.append(.object([:]))
            return KeyedEncodingContainer(Keyed<N>(slot: Slot(.object([:]), parent: (slot, .index(i))), codingPath: codingPath))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let i = slot.append(.array([]))
            return Unkeyed(slot: Slot(.array([]), parent: (slot, .index(i))), codingPath: codingPath)
        }

        mutating func superEncoder() -> any Encoder {
            let i = slot.append(.null)
            return JSONEncoding(slot: Slot(.null, parent: (slot, .index(i))), codingPath: codingPath)
        }
    }

    struct Single: SingleValueEncodingContainer {
        let slot: Slot
        var codingPath: [any CodingKey]
        mutating func encodeNil() throws { slot.value = .null; slot.changed() }
        mutating func encode<T: Encodable>(_ value: T) throws { slot.value = try JSONEncoding.primitive(value); slot.changed() }
    }
}
