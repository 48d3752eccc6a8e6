/// Typed reads of a node's attributes that name the node and attribute when the kind or range
/// is wrong. The wording matches the reference interpreter's `NodeContext`, so a model's
/// error reads the same whichever layer found it.
struct AttributeReader {
    let node: Node

    /// `'conv1' (Conv)`, or `unnamed Conv`.
    var label: String { node.name.isEmpty ? "unnamed \(node.opType)" : "'\(node.name)' (\(node.opType))" }

    func error(_ name: String, _ reason: String) -> ConvGeometryError {
        ConvGeometryError(node: label, .attribute(name), reason)
    }

    /// An int list (a single int reads as a one-element list, as some exporters write it),
    /// each value in `minimum...ConvGeometry.limit`.
    func ints(_ name: String, minimum: Int) throws(ConvGeometryError) -> [Int]? {
        guard let a = node[attribute: name] else { return nil }
        guard let values = a.intsValue ?? a.intValue.map({ [$0] }) else { throw error(name, "expected a list of ints, got \(a)") }
        for v in values where v < minimum || v > ConvGeometry.limit {
            throw error(name, "value \(v) is out of range [\(minimum), \(ConvGeometry.limit)]")
        }
        return values
    }

    func int(_ name: String) throws(ConvGeometryError) -> Int? {
        guard let a = node[attribute: name] else { return nil }
        guard let v = a.intValue else { throw error(name, "expected an int, got \(a)") }
        return v
    }

    func string(_ name: String) throws(ConvGeometryError) -> String? {
        guard let a = node[attribute: name] else { return nil }
        guard let v = a.stringValue else { throw error(name, "expected a string, got \(a)") }
        return v
    }
}
