import SegGraph
import SegTensor

/// Folds an Add of a per-output-channel (or scalar) constant into the bias of the Conv or
/// ConvTranspose that feeds it, when that Add is the conv output's only reader: b' = b + a.
/// paddle2onnx writes every conv bias this way (Conv without bias → Add of a [1, C, 1, 1]
/// constant → BatchNormalization), which left BiSeNetV2 with 53 unfolded BatchNormalizations
/// and 56 bias Adds as separate passes over the activations; with the Add folded, FoldBatchNorm
/// takes the BN too, and the activation after it fuses into the conv.
package struct FoldConvBiasAdd: GraphRewrite {
    package let name = "foldConvBiasAdd"
    package init() {}

    package func apply(to model: inout Model) throws -> Int {
        var g = model.graph
        var count = 0
        var i = 0
        while i < g.nodes.count {
            let add = g.nodes[i]
            guard add.opType == "Add", add.domain.isEmpty, add.inputs.count == 2, add.outputs.count == 1,
                  let (p, constant) = convAndConstant(add, graph: g),
                  let bias = try foldedBias(conv: g.nodes[p], constant: constant, graph: g)
            else { i += 1; continue }
            var conv = g.nodes[p]
            let bName = g.freshName((conv.outputs.first ?? "conv") + "_bias_addfolded")
            g.initializers[bName] = bias
            conv.setBiasInput(bName)
            conv.outputs[0] = add.outputs[0]
            g.nodes[p] = conv
            g.nodes.remove(at: i)
            count += 1
        }
        model.graph = g
        return count
    }

    /// The conv (index) whose output this Add reads, and the Add's constant operand.
    private func convAndConstant(_ add: Node, graph g: Graph) -> (Int, Tensor)? {
        for (x, k) in [(0, 1), (1, 0)] {
            guard let constant = g.initializers[add.inputs[k]], constant.dtype == .f32,
                  !g.inputs.contains(where: { $0.name == add.inputs[k] }),
                  let p = g.soleProducer(of: add.inputs[x], opTypes: ["Conv", "ConvTranspose"])
            else { continue }
            return (p, constant)
        }
        return nil
    }

    /// b + a per output channel, or nil when the weight, bias or constant does not fit (a
    /// constant that varies along any axis but the channel one, or would widen the output).
    func foldedBias(conv: Node, constant a: Tensor, graph g: Graph) throws -> Tensor? {
        guard conv.inputs.count >= 2, let w = g.initializers[conv.inputs[1]], w.dtype == .f32, w.dims.count >= 3 else { return nil }
        let channels = conv.opType == "Conv" ? w.dims[0] : w.dims[1] * (conv[attribute: "group"]?.intValue ?? 1)
        let rank = w.dims.count
        guard a.dims.count <= rank else { return nil }
        var perChannel = false
        for (j, d) in a.dims.enumerated() {
            let axis = j + rank - a.dims.count
            if axis == 1 && d == channels && d != 1 { perChannel = true } else if d != 1 { return nil }
        }
        let values = try a.scalars(as: Float.self)
        guard var bias = try g.biasValues(of: conv, count: channels) else { return nil }
        for o in 0..<channels { bias[o] += values[perChannel ? o : 0] }
        return try Tensor(dims: [channels], scalars: bias)
    }
}
