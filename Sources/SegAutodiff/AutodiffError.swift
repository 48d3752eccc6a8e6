import SegGraph

/// Why a model cannot be trained or a training step failed. Every case names the node,
/// value or parameter involved, in words a user can act on.
package enum AutodiffError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nodes on the trainable path whose operator has no backward rule (all of them, at once).
    case noGradientRule([String])
    /// No float initializer reaches the outputs through differentiable nodes (after freezing).
    case noTrainableParameters(String)
    /// A value the engine needs as float is another dtype.
    case notFloat(String, String)
    /// A node's attributes or shapes are outside what its rule supports.
    case node(String, String)
    /// Shape inference or static evaluation failed for the given input shapes.
    case shapes(String)
    case missingInput(String)
    case unknownInput(String, known: [String])
    case inputShape(String, expected: [Int], actual: [Int])
    case unknownOutput(String)
    /// A loss could not be computed (label out of range, shape mismatch).
    case loss(String)

    package var description: String {
        switch self {
        case .noGradientRule(let nodes):
            let shown = nodes.prefix(8).joined(separator: ", ")
            return "cannot train through \(nodes.count) node(s) whose operator has no gradient: \(shown)\(nodes.count > 8 ? ", …" : "")"
        case .noTrainableParameters(let why): return "no trainable parameters: \(why)"
        case .notFloat(let name, let dtype): return "'\(name)' is \(dtype); training needs float tensors"
        case .node(let label, let why): return "\(label): \(why)"
        case .shapes(let why): return "cannot infer shapes for training: \(why)"
        case .missingInput(let name): return "missing input '\(name)'"
        case .unknownInput(let name, let known): return "unknown input '\(name)' (the model's inputs: \(known.joined(separator: ", ")))"
        case .inputShape(let name, let expected, let actual):
            return "input '\(name)' has shape \(actual); the program was built for \(expected)"
        case .unknownOutput(let name): return "the model has no output '\(name)'"
        case .loss(let why): return "loss: \(why)"
        }
    }
}
