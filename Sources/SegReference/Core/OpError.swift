import SegGraph
import SegTensor

/// Why one operator could not run (or be inferred). The executor wraps it with the node.
package enum OpError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An attribute is missing, has the wrong kind, or a value we do not support.
    case attribute(String, String)
    /// An input is missing, has the wrong dtype/shape, or an invalid value.
    case input(Int, String)
    /// An attribute value or input combination that is valid ONNX but not implemented.
    case unsupported(String)
    case tensor(TensorError)
    case other(String)

    package var description: String {
        switch self {
        case .attribute(let name, let why): return "attribute '\(name)': \(why)"
        case .input(let index, let why): return "input \(index): \(why)"
        case .unsupported(let why): return "unsupported: \(why)"
        case .tensor(let e): return e.description
        case .other(let why): return why
        }
    }
}

extension OpError {
    /// Any error a kernel throws, as an `OpError`.
    package init(_ error: any Error) {
        switch error {
        case let e as OpError: self = e
        case let e as TensorError: self = .tensor(e)
        case let e as ConvGeometryError: self = OpError(e)
        default: self = .other(String(describing: error))
        }
    }
}

extension OpError {
    /// A shared-geometry error in the interpreter's terms; the executor adds the node label.
    init(_ error: ConvGeometryError) {
        switch error.subject {
        case .attribute(let name): self = .attribute(name, error.reason)
        case .input(let index): self = .input(index, error.reason)
        }
    }
}
