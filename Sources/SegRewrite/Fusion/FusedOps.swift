import SegGraph

/// The private operator domain of fused nodes. Only the runtime's own copy of a model holds
/// them (its compile runs the fusion rewrites); techniques never write them, so exported
/// models stay standard ONNX.
package enum FusedOps {
    package static let domain = "ai.segslim"
    /// Conv with bias, an optional residual added after it and an optional epilogue activation.
    /// Inputs: X, W, B (or ""), then the residual when present. Attributes: the Conv's, plus
    /// those of `EpilogueActivation.attributes` when an activation is fused.
    package static let fusedConv = "FusedConv"
    /// Softmax(scale · Q·K)·V over the last axis. Inputs: Q, K, V. Attribute: `scale` (float).
    package static let attention = "Attention"
    /// 0.5·x·(1 + erf(scale·x)). Input: x. Attribute: `scale` (float; 1/√2 for GELU).
    package static let gelu = "Gelu"

    /// Whether `node` is a fused node of this domain with op type `opType`.
    package static func isFused(_ node: Node, _ opType: String) -> Bool { node.domain == domain && node.opType == opType }
}

extension Model {
    /// Declares the fused domain (version 1) once, so a rewritten model is self-describing.
    mutating func addFusedDomainImport() {
        if !opsetImports.contains(where: { $0.domain == FusedOps.domain }) {
            opsetImports.append(OpsetImport(domain: FusedOps.domain, version: 1))
        }
    }
}

/// A fused node that does not say what it fuses (hand-edited, or from a newer rewrite).
package enum RewriteError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformedFusedNode(node: String, reason: String)

    package var description: String {
        switch self {
        case .malformedFusedNode(let node, let reason): "fused node '\(node)': \(reason)"
        }
    }
}
