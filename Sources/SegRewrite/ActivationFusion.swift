import SegGraph

/// Finds Conv → activation pairs the runtime fuses (the activation reads only the Conv's
/// output, and is in `EpilogueActivation`, the list the runtime's `FuseConvActivation` uses).
/// It does not change the graph — the Fuse technique's output stays standard ONNX — it
/// reports what the runtime's fused kernels will absorb.
package enum ActivationFusion {
    /// The activation op types a conv epilogue fuses (`EpilogueActivation.opTypes`).
    package static var activations: Set<String> { Set(EpilogueActivation.opTypes.keys) }

    /// (conv node name, activation op) for every fusable pair.
    package static func candidates(in graph: Graph) -> [(conv: String, activation: String)] {
        var result: [(String, String)] = []
        for node in graph.nodes where node.opType == "Conv" && node.domain.isEmpty {
            guard let out = node.outputs.first, graph.readers(of: out) == 1, !graph.isGraphOutput(out),
                  let act = graph.nodes.first(where: { $0.inputs.first == out && $0.domain.isEmpty }),
                  let fused = EpilogueActivation(node: act, constant: { graph.initializers[$0] })
            else { continue }
            result.append((node.name, fused.opType))
        }
        return result
    }
}
