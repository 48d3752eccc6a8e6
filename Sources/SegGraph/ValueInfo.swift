import SegTensor

/// One axis of a declared tensor shape: a fixed size, a named symbol (`"batch"`) shared by
/// every axis that carries the same name, or unknown.
public enum Dimension: Sendable, Hashable, CustomStringConvertible {
    case value(Int)
    case param(String)
    case unknown

    public var description: String {
        switch self {
        case .value(let v): String(v)
        case .param(let p): p
        case .unknown: "?"
        }
    }
}

/// The declared type of a tensor value. `elementType` is nil when the producer left it unset;
/// `shape` is nil when even the rank is unknown.
public struct TensorType: Sendable, Hashable, CustomStringConvertible {
    public var elementType: DType?
    public var shape: [Dimension]?

    public init(elementType: DType?, shape: [Dimension]?) {
        self.elementType = elementType
        self.shape = shape
    }

    /// The concrete shape when every dim is a known value.
    public var concreteDims: [Int]? {
        guard let shape else { return nil }
        var dims: [Int] = []
        for dim in shape {
            guard case .value(let v) = dim else { return nil }
            dims.append(v)
        }
        return dims
    }

    public var description: String {
        let element = elementType?.description ?? "?"
        guard let shape else { return "\(element)[*]" }
        return "\(element)[" + shape.map(\.description).joined(separator: ", ") + "]"
    }
}

/// A named value with an optional declared type: a graph input or output, or a `value_info`
/// annotation on an intermediate value.
public struct ValueInfo: Sendable, Hashable {
    public var name: String
    public var type: TensorType?
    public var docString: String

    public init(name: String, type: TensorType? = nil, docString: String = "") {
        self.name = name
        self.type = type
        self.docString = docString
    }
}
