import SegGraph

/// Finds Conv → activation pairs a runtime can fuse (the activation reads only the Conv's
/// output). It does not change the graph — the output stays standard ONNX — it reports what
/// the runtime's fused kernels will absorb.
public enum ActivationFusion {
    public static let activations: Set<String> = ["Relu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "LeakyRelu"]

    /// (conv node name, activation op) for every fusable pair.
    public static func candidates(in graph: Graph) -> [(conv: String, activation: String)] {
        var result: [(String, String)] = []
        for node in graph.nodes where node.opType == "Conv" && node.domain.isEmpty {
            guard let out = node.outputs.first, graph.readers(of: out) == 1, !graph.isGraphOutput(out),
                  let act = graph.nodes.first(where: { $0.inputs.first == out && activations.contains($0.opType) && $0.domain.isEmpty })
            else { continue }
            result.append((node.name, act.opType))
        }
        return result
    }
}
