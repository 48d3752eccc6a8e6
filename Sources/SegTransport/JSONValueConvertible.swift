import SegProtocol

/// Anything that can go on the wire as one JSON document.
package protocol JSONValueConvertible {
    var jsonValue: JSONValue { get }
}

extension JSONValue: JSONValueConvertible {
    package var jsonValue: JSONValue { self }
}

extension Message: JSONValueConvertible {
    package var jsonValue: JSONValue { json }
}
