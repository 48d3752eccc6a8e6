import SegGraph
import SegTensor

/// A node a model uses that this build cannot run, and why.
package struct UnsupportedUse: Sendable, Equatable, CustomStringConvertible {
    package var domain: String
    package var opType: String
    package var opset: Int
    /// Labels of the nodes that use it (first few).
    package var nodes: [String]
    package var reason: String

    package init(domain: String, opType: String, opset: Int, nodes: [String], reason: String) {
        self.domain = domain
        self.opType = opType
        self.opset = opset
        self.nodes = nodes
        self.reason = reason
    }

    package var description: String {
        let d = domain.isEmpty ? "ai.onnx" : domain
        let shown = nodes.prefix(5).joined(separator: ", ") + (nodes.count > 5 ? " and \(nodes.count - 5) more" : "")
        return "\(d) \(opType) (opset \(opset)): \(reason), used by \(shown)"
    }
}

package enum ExecutionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Every unsupported (domain, op, opset) or attribute, found at load.
    case unsupported([UnsupportedUse])
    case graph(GraphError)
    case missingInput(String)
    case unknownInput(String, known: [String])
    /// A caller asked for an output the graph does not produce.
    case unknownOutput(String, known: [String])
    case inputMismatch(name: String, expected: TensorType, actual: String)
    /// A node failed at run time (bad data, not a missing feature).
    case node(String, OpError)
    case cancelled

    package var description: String {
        switch self {
        case .unsupported(let uses):
            return "the model uses \(uses.count) operator\(uses.count == 1 ? "" : "s") SegSlim does not support: " + uses.map(\.description).joined(separator: "; ")
        case .graph(let e): return e.description
        case .missingInput(let name): return "input '\(name)' was not given"
        case .unknownInput(let name, let known): return "the model has no input '\(name)' (inputs: \(known.joined(separator: ", ")))"
        case .unknownOutput(let name, let known): return "the model has no output '\(name)' (outputs: \(known.joined(separator: ", ")))"
        case .inputMismatch(let name, let expected, let actual): return "input '\(name)' must be \(expected), got \(actual)"
        case .node(let label, let e): return "node \(label): \(e)"
        case .cancelled: return "cancelled"
        }
    }
}
