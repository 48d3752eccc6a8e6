import SegProtocol

/// Anything that can go on the wire as one JSON document.
public protocol JSONValueConvertible {
    var jsonValue: JSONValue { get }
}

extension JSONValue: JSONValueConvertible {
    public var jsonValue: JSONValue { self }
}

extension Message: JSONValueConvertible {
    public var jsonValue: JSONValue { json }
}
