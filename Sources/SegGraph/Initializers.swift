import SegTensor

/// Constant tensors of a graph, looked up by value name and kept in insertion order (the
/// order a model file lists them, so writing it back is deterministic and diff-friendly).
public struct Initializers: Sendable, Equatable, Sequence {
    public private(set) var names: [String] = []
    private var tensors: [String: Tensor] = [:]

    public init() {}

    public init(_ pairs: [(String, Tensor)]) {
        for (name, tensor) in pairs { self[name] = tensor }
    }

    /// Setting `nil` removes the initializer; setting an existing name replaces it in place.
    public subscript(name: String) -> Tensor? {
        get { tensors[name] }
        set {
            if let newValue {
                if tensors.updateValue(newValue, forKey: name) == nil { names.append(name) }
            } else if tensors.removeValue(forKey: name) != nil {
                names.removeAll { $0 == name }
            }
        }
    }

    public var count: Int { names.count }
    public var isEmpty: Bool { names.isEmpty }
    public func contains(_ name: String) -> Bool { tensors[name] != nil }

    /// Total bytes of tensor storage.
    public var byteCount: Int { tensors.values.reduce(0) { $0 + $1.byteCount } }

    public func makeIterator() -> some IteratorProtocol<(name: String, tensor: Tensor)> {
        var index = 0
        return AnyIterator { [names, tensors] in
            guard index < names.count, let tensor = tensors[names[index]] else { return nil }
            defer { index += 1 }
            return (names[index], tensor)
        }
    }
}
