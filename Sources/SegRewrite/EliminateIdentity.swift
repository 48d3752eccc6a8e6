import SegTensor
import SegGraph

/// Removes Identity nodes, and Dropout nodes in inference form (no mask output read):
/// their readers read the input instead. When the removed node's output is a graph output,
/// the producer's output is renamed instead, so the graph's interface keeps its names.
package struct EliminateIdentity: GraphRewrite {
    package let name = "eliminateIdentity"
    package init() {}

    package func apply(to model: inout Model) throws -> Int {
        var g = model.graph
        var count = 0
        var i = 0
        while i < g.nodes.count {
            let node = g.nodes[i]
            let isIdentity = node.opType == "Identity" && node.domain.isEmpty
            let isDropout = node.opType == "Dropout" && node.domain.isEmpty
                && (node.outputs.count < 2 || node.outputs[1].isEmpty || g.readers(of: node.outputs[1]) == 0 && !g.isGraphOutput(node.outputs[1]))
                && (node.inputs.count < 3 || node.inputs[2].isEmpty || g.initializers[node.inputs[2]]?.scalarBool == false)
            guard (isIdentity || isDropout), let input = node.inputs.first, !input.isEmpty, let output = node.outputs.first else { i += 1; continue }
            if g.isGraphOutput(output) {
                // Keep the output's name: rename the producer's output (only when the input is a
                // plain node output that nothing else reads).
                let producer = g.nodes.firstIndex { $0.outputs.contains(input) }
                guard let p = producer, !g.isGraphOutput(input), g.readers(of: input) == 1 else { i += 1; continue }
                for k in g.nodes[p].outputs.indices where g.nodes[p].outputs[k] == input { g.nodes[p].outputs[k] = output }
                g.nodes.remove(at: i)
            } else {
                g.nodes.remove(at: i)
                g.rename(value: output, to: input)
            }
            count += 1
        }
        model.graph = g
        return count
    }
}

extension SegTensor.Tensor {
    /// The value of a one-element bool tensor, nil otherwise.
    var scalarBool: Bool? {
        guard dtype == .bool, elementCount == 1, let v = try? scalars(as: Bool.self).first else { return nil }
        return v
    }
}
