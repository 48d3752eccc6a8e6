import SegGraph
import SegTensor

/// What a kernel sees of its node: the attributes with typed, checked accessors, and the
/// opset version of the node's domain (semantics differ between versions of some ops).
package struct NodeContext: Sendable {
    package let node: Node
    package let opset: Int

    package init(node: Node, opset: Int) {
        self.node = node
        self.opset = opset
    }

    package func has(_ name: String) -> Bool { node[attribute: name] != nil }

    package func int(_ name: String) throws(OpError) -> Int {
        guard let a = node[attribute: name] else { throw .attribute(name, "required attribute is missing") }
        guard let v = a.intValue else { throw .attribute(name, "expected an int, got \(a)") }
        return v
    }

    package func int(_ name: String, default value: Int) throws(OpError) -> Int {
        has(name) ? try int(name) : value
    }

    package func float(_ name: String, default value: Float) throws(OpError) -> Float {
        guard let a = node[attribute: name] else { return value }
        if let v = a.floatValue { return v }
        if let v = a.intValue { return Float(v) }  // some exporters write ints for float attrs
        throw .attribute(name, "expected a float, got \(a)")
    }

    package func string(_ name: String, default value: String) throws(OpError) -> String {
        guard let a = node[attribute: name] else { return value }
        guard let v = a.stringValue else { throw .attribute(name, "expected a string, got \(a)") }
        return v
    }

    package func ints(_ name: String) throws(OpError) -> [Int]? {
        guard let a = node[attribute: name] else { return nil }
        if let v = a.intsValue { return v }
        if let v = a.intValue { return [v] }
        throw .attribute(name, "expected a list of ints, got \(a)")
    }

    package func floats(_ name: String) throws(OpError) -> [Float]? {
        guard let a = node[attribute: name] else { return nil }
        if let v = a.floatsValue { return v }
        throw .attribute(name, "expected a list of floats, got \(a)")
    }

    package func strings(_ name: String) throws(OpError) -> [String]? {
        guard let a = node[attribute: name] else { return nil }
        if let v = a.stringsValue { return v }
        throw .attribute(name, "expected a list of strings, got \(a)")
    }

    package func tensor(_ name: String) throws(OpError) -> Tensor? {
        guard let a = node[attribute: name] else { return nil }
        guard let v = a.tensorValue else { throw .attribute(name, "expected a tensor, got \(a)") }
        return v
    }

    /// Normalises a possibly negative axis against `rank`; names the attribute when out of range.
    package func axis(_ value: Int, rank: Int, name: String = "axis") throws(OpError) -> Int {
        let a = value < 0 ? value + rank : value
        guard a >= 0 && a < max(rank, 1) else { throw .attribute(name, "axis \(value) is out of range for rank \(rank)") }
        return a
    }
}
