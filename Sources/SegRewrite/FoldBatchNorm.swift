import SegGraph
import SegTensor

/// Folds an inference-mode BatchNormalization into the Conv, ConvTranspose or Gemm that
/// feeds it (when that is its only reader): with s = γ / √(σ² + ε),
/// W' = W · s (per output channel) and b' = (b − μ) · s + β. The BN node disappears.
package struct FoldBatchNorm: GraphRewrite {
    package let name = "foldBatchNorm"
    package init() {}

    package func apply(to model: inout Model) throws -> Int {
        var g = model.graph
        var count = 0
        var i = 0
        while i < g.nodes.count {
            let bn = g.nodes[i]
            guard bn.opType == "BatchNormalization", bn.domain.isEmpty, bn.inputs.count == 5,
                  (bn[attribute: "training_mode"]?.intValue ?? 0) == 0,
                  bn.outputs.count == 1 || bn.outputs.dropFirst().allSatisfy({ $0.isEmpty }),
                  let p = g.soleProducer(of: bn.inputs[0], opTypes: ["Conv", "ConvTranspose", "Gemm"]),
                  let folded = try fold(producer: g.nodes[p], bn: bn, graph: g)
            else { i += 1; continue }
            var producer = g.nodes[p]
            let wName = g.freshName(producer.inputs[1] + "_bnfolded")
            g.initializers[wName] = folded.weight
            let bName = g.freshName((producer.outputs.first ?? "conv") + "_bias_bnfolded")
            g.initializers[bName] = folded.bias
            producer.inputs[1] = wName
            producer.setBiasInput(bName)
            if producer.opType == "Gemm" && producer[attribute: "beta"] == nil { producer[attribute: "beta"] = .float(1) }
            producer.outputs[0] = bn.outputs[0]
            g.nodes[p] = producer
            g.nodes.remove(at: i)
            count += 1
        }
        model.graph = g
        return count
    }

    /// New weight and bias, or nil when a tensor is not a constant f32 of the expected shape.
    func fold(producer: Node, bn: Node, graph g: Graph) throws -> (weight: Tensor, bias: Tensor)? {
        guard producer.inputs.count >= 2, let w = g.initializers[producer.inputs[1]], w.dtype == .f32,
              let gamma = g.initializers[bn.inputs[1]], let beta = g.initializers[bn.inputs[2]],
              let mean = g.initializers[bn.inputs[3]], let variance = g.initializers[bn.inputs[4]],
              [gamma, beta, mean, variance].allSatisfy({ $0.dtype == .f32 }) else { return nil }
        let eps = bn[attribute: "epsilon"]?.floatValue ?? 1e-5
        let c = gamma.elementCount
        guard [beta, mean, variance].allSatisfy({ $0.elementCount == c }) else { return nil }
        guard let bias = try g.biasValues(of: producer, count: c) else { return nil }
        let ga = try gamma.scalars(as: Float.self), be = try beta.scalars(as: Float.self)
        let mu = try mean.scalars(as: Float.self), va = try variance.scalars(as: Float.self)
        // Compute the scale in Double and round once, to stay within ORT's own folding error.
        let scale = (0..<c).map { Double(ga[$0]) / (Double(va[$0]) + Double(eps)).squareRoot() }
        var wv = try w.scalars(as: Float.self)
        let dims = w.dims
        switch producer.opType {
        case "Conv":  // W: [Cout, Cin/g, k...]
            guard dims.count >= 2, dims[0] == c else { return nil }
            let per = wv.count / c
            for o in 0..<c { for j in 0..<per { wv[o * per + j] = Float(Double(wv[o * per + j]) * scale[o]) } }
        case "ConvTranspose":  // W: [Cin, Cout/g, k...]; output channel = group·(Cout/g) + j
            let group = producer[attribute: "group"]?.intValue ?? 1
            guard dims.count >= 2, dims[1] * group == c, dims[0] % group == 0 else { return nil }
            let inPerGroup = dims[0] / group, kernel = dims.dropFirst(2).reduce(1, *)
            for ci in 0..<dims[0] {
                let gi = ci / inPerGroup
                for j in 0..<dims[1] {
                    let o = gi * dims[1] + j
                    for k in 0..<kernel { let idx = (ci * dims[1] + j) * kernel + k; wv[idx] = Float(Double(wv[idx]) * scale[o]) }
                }
            }
        case "Gemm":  // Y = A·B' + C; output channel is B's column (or row with transB)
            guard dims.count == 2 else { return nil }
            let transB = (producer[attribute: "transB"]?.intValue ?? 0) != 0
            let alpha = Double(producer[attribute: "alpha"]?.floatValue ?? 1)
            let beta = Double(producer[attribute: "beta"]?.floatValue ?? 1)
            guard alpha == 1, beta == 1 || producer.inputs.count < 3 else { return nil }
            if transB {
                guard dims[0] == c else { return nil }
                for o in 0..<c { for j in 0..<dims[1] { wv[o * dims[1] + j] = Float(Double(wv[o * dims[1] + j]) * scale[o]) } }
            } else {
                guard dims[1] == c else { return nil }
                for r in 0..<dims[0] { for o in 0..<c { wv[r * c + o] = Float(Double(wv[r * c + o]) * scale[o]) } }
            }
        default:
            return nil
        }
        let newBias = (0..<c).map { Float((Double(bias[$0]) - Double(mu[$0])) * scale[$0] + Double(be[$0])) }
        return (try Tensor(shape: w.shape, scalars: wv), try Tensor(dims: [c], scalars: newBias))
    }
}

extension Graph {
    /// The bias a Conv, ConvTranspose or Gemm reads as its third input (zeros when it has
    /// none), or nil when that input is not a constant f32 of `count` elements.
    func biasValues(of node: Node, count: Int) throws -> [Float]? {
        guard node.inputs.count > 2, !node.inputs[2].isEmpty else { return [Float](repeating: 0, count: count) }
        guard let b = initializers[node.inputs[2]], b.dtype == .f32, b.elementCount == count else { return nil }
        return try b.scalars(as: Float.self)
    }
}

extension Node {
    /// Makes `name` the node's third (bias) input, replacing or adding it.
    mutating func setBiasInput(_ name: String) {
        if inputs.count > 2 { inputs[2] = name } else { inputs.append(name) }
    }
}
