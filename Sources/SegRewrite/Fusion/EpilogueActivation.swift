import SegGraph
import SegTensor

/// The activations a fused kernel applies in its epilogue (after bias and residual), with
/// the attributes each reads. This is the one list: the Fuse technique reports Conv +
/// activation pairs from it and the runtime's fusion rewrite folds exactly these into
/// `FusedConv`, so the two cannot disagree. LeakyRelu is not in it: SegKernels' epilogue has
/// no LeakyRelu, so it runs as its own (vectorised) step after the conv.
package enum EpilogueActivation: Sendable, Equatable {
    case relu
    case sigmoid
    case hardSwish
    /// max(0, min(1, alpha·x + beta)); ONNX defaults alpha 0.2, beta 0.5.
    case hardSigmoid(alpha: Float, beta: Float)
    /// min(max(x, min), max); absent bounds are ∓greatestFiniteMagnitude.
    case clip(min: Float, max: Float)

    /// The ONNX op types (default domain) an epilogue fuses, with the attributes each reads.
    package static let opTypes: [String: [String]] = [
        "Relu": [], "Sigmoid": [], "HardSwish": [], "HardSigmoid": ["alpha", "beta"], "Clip": ["min", "max"],
    ]

    /// The activation `node` computes, or nil when it is not one an epilogue fuses (another op,
    /// another domain, or Clip bounds that are not constant scalars). `constant` resolves
    /// Clip's opset-11 `min`/`max` inputs.
    package init?(node: Node, constant: (String) -> Tensor?) {
        guard node.domain.isEmpty || node.domain == "ai.onnx" else { return nil }
        switch node.opType {
        case "Relu": self = .relu
        case "Sigmoid": self = .sigmoid
        case "HardSwish": self = .hardSwish
        case "HardSigmoid":
            self = .hardSigmoid(alpha: node[attribute: "alpha"]?.floatValue ?? 0.2, beta: node[attribute: "beta"]?.floatValue ?? 0.5)
        case "Clip":
            // Opset ≥ 11: optional min/max inputs (constants); older: attributes.
            func bound(_ i: Int) -> Float?? {
                guard i < node.inputs.count, !node.inputs[i].isEmpty else { return .some(nil) }
                guard let t = constant(node.inputs[i]), t.elementCount == 1,
                      let v = try? t.converted(to: .f32).scalars(as: Float.self).first else { return nil }
                return .some(v)
            }
            guard let lo = bound(1), let hi = bound(2) else { return nil }
            self = .clip(min: lo ?? node[attribute: "min"]?.floatValue ?? -Float.greatestFiniteMagnitude,
                         max: hi ?? node[attribute: "max"]?.floatValue ?? Float.greatestFiniteMagnitude)
        default: return nil
        }
    }

    /// The ONNX op type this activation came from.
    package var opType: String {
        switch self {
        case .relu: "Relu"
        case .sigmoid: "Sigmoid"
        case .hardSwish: "HardSwish"
        case .hardSigmoid: "HardSigmoid"
        case .clip: "Clip"
        }
    }

    /// As attributes of a fused node: `activation` (the op type) and its parameters.
    package var attributes: [NamedAttribute] {
        var a = [NamedAttribute("activation", .string(opType))]
        switch self {
        case .hardSigmoid(let alpha, let beta): a += [NamedAttribute("alpha", .float(alpha)), NamedAttribute("beta", .float(beta))]
        case .clip(let lo, let hi): a += [NamedAttribute("min", .float(lo)), NamedAttribute("max", .float(hi))]
        default: break
        }
        return a
    }

    /// Reads back what `attributes` wrote on a fused node: nil when it has no `activation`,
    /// throws on one it does not know.
    package init?(fusedNode node: Node) throws(RewriteError) {
        guard let name = node[attribute: "activation"]?.stringValue else { return nil }
        func value(_ key: String) throws(RewriteError) -> Float {
            guard let v = node[attribute: key]?.floatValue else { throw .malformedFusedNode(node: node.name, reason: "\(name) without '\(key)'") }
            return v
        }
        switch name {
        case "Relu": self = .relu
        case "Sigmoid": self = .sigmoid
        case "HardSwish": self = .hardSwish
        case "HardSigmoid": self = .hardSigmoid(alpha: try value("alpha"), beta: try value("beta"))
        case "Clip": self = .clip(min: try value("min"), max: try value("max"))
        default: throw .malformedFusedNode(node: node.name, reason: "activation '\(name)' is not one an epilogue fuses")
        }
    }
}
