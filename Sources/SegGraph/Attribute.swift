import SegTensor

/// A node attribute value (ONNX `AttributeProto`, minus sparse tensors and type protos).
///
/// Equality compares floats by bit pattern, so NaN attributes survive a round-trip check.
public enum Attribute: Sendable, Equatable, CustomStringConvertible {
    case int(Int)
    case float(Float)
    case string(String)
    case tensor(Tensor)
    case graph(Graph)
    case ints([Int])
    case floats([Float])
    case strings([String])
    case tensors([Tensor])
    case graphs([Graph])

    public static func == (lhs: Attribute, rhs: Attribute) -> Bool {
        switch (lhs, rhs) {
        case let (.int(a), .int(b)): a == b
        case let (.float(a), .float(b)): a.bitPattern == b.bitPattern
        case let (.string(a), .string(b)): a == b
        case let (.tensor(a), .tensor(b)): a == b
        case let (.graph(a), .graph(b)): a == b
        case let (.ints(a), .ints(b)): a == b
        case let (.floats(a), .floats(b)): a.map(\.bitPattern) == b.map(\.bitPattern)
        case let (.strings(a), .strings(b)): a == b
        case let (.tensors(a), .tensors(b)): a == b
        case let (.graphs(a), .graphs(b)): a == b
        default: false
        }
    }

    public var description: String {
        switch self {
        case .int(let v): String(v)
        case .float(let v): String(v)
        case .string(let v): "\"\(v)\""
        case .tensor(let t): t.description
        case .graph(let g): "graph '\(g.name)'"
        case .ints(let v): v.description
        case .floats(let v): v.description
        case .strings(let v): v.description
        case .tensors(let v): "[\(v.count) tensors]"
        case .graphs(let v): "[\(v.count) graphs]"
        }
    }

    // MARK: - Typed accessors (nil when the attribute holds another kind)

    public var intValue: Int? { if case .int(let v) = self { v } else { nil } }
    public var floatValue: Float? { if case .float(let v) = self { v } else { nil } }
    public var stringValue: String? { if case .string(let v) = self { v } else { nil } }
    public var tensorValue: Tensor? { if case .tensor(let v) = self { v } else { nil } }
    public var graphValue: Graph? { if case .graph(let v) = self { v } else { nil } }
    public var intsValue: [Int]? { if case .ints(let v) = self { v } else { nil } }
    public var floatsValue: [Float]? { if case .floats(let v) = self { v } else { nil } }
    public var stringsValue: [String]? { if case .strings(let v) = self { v } else { nil } }

    /// Subgraphs held by this attribute (If/Loop/Scan bodies).
    public var subgraphs: [Graph] {
        switch self {
        case .graph(let g): [g]
        case .graphs(let gs): gs
        default: []
        }
    }
}

/// An attribute with its name; nodes keep them in file order so a model writes back unchanged.
public struct NamedAttribute: Sendable, Equatable {
    public var name: String
    public var value: Attribute
    public var docString: String

    public init(_ name: String, _ value: Attribute, docString: String = "") {
        self.name = name
        self.value = value
        self.docString = docString
    }
}
