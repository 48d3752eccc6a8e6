import SegGraph
import SegTechnique
import SegTensor

/// Activation range equalization across a ReLU (after Nagel et al., "Data-Free Quantization",
/// applied to activation ranges): for Conv₁ → ReLU → Conv₂ where the ReLU output T feeds only
/// Conv₂, scaling T's channel c by 1/s (Conv₁'s output channel c, weights and bias, divided
/// by s; Conv₂'s input channel c multiplied by s) leaves the FP32 network's output unchanged
/// (ReLU is positively homogeneous) while bringing T's channels to similar ranges, so one
/// per-tensor u8 scale serves them all. MobileNet-style blocks have channels whose ranges
/// differ by 10–100×, and the weak ones otherwise get a handful of codes.
///
/// When Conv₂ is depthwise the scaling is free (per-channel weights on both sides); into a
/// dense Conv₂ it shifts precision from Conv₂'s weights to T, so only the square root of the
/// full equalizing factor is applied there.
enum ChannelEqualization {
    struct Pair {
        var producer: Int
        var consumer: Int
        var tensor: String
        var depthwise: Bool
    }

    static func pairs(_ graph: Graph) -> [Pair] {
        let consumers = graph.consumers, producers = graph.producers
        var readCount: [String: Int] = [:]
        for n in graph.nodes { for i in n.inputs where !i.isEmpty { readCount[i, default: 0] += 1 } }
        let outputs = Set(graph.outputs.map(\.name))
        var out: [Pair] = []
        for (r, relu) in graph.nodes.enumerated() where relu.opType == "Relu" && relu.domain.isEmpty {
            guard let pre = relu.inputs.first, let p = producers[pre], let t = relu.outputs.first,
                  !outputs.contains(pre), !outputs.contains(t),
                  consumers[pre]?.count == 1, let tReaders = consumers[t], tReaders.count == 1, let c = tReaders.first else { continue }
            _ = r
            let conv1 = graph.nodes[p], conv2 = graph.nodes[c]
            guard conv1.opType == "Conv", conv2.opType == "Conv", conv1.domain.isEmpty, conv2.domain.isEmpty,
                  conv2.inputs.first == t, !conv2.inputs.dropFirst().contains(t),
                  conv1.inputs.count >= 2, conv2.inputs.count >= 2,
                  let w1 = graph.initializers[conv1.inputs[1]], let w2 = graph.initializers[conv2.inputs[1]],
                  w1.dtype == .f32, w2.dtype == .f32, w1.dims.count == 4, w2.dims.count == 4,
                  readCount[conv1.inputs[1]] == 1, readCount[conv2.inputs[1]] == 1 else { continue }
            if conv1.inputs.count > 2, !conv1.inputs[2].isEmpty {
                guard graph.initializers[conv1.inputs[2]]?.dtype == .f32, readCount[conv1.inputs[2]] == 1 else { continue }
            }
            let channels = w1.dims[0]
            let group2 = conv2[attribute: "group"]?.intValue ?? 1
            let depthwise = group2 == channels && w2.dims[0] == channels && w2.dims[1] == 1
            guard depthwise || (group2 == 1 && w2.dims[1] == channels) else { continue }
            out.append(Pair(producer: p, consumer: c, tensor: t, depthwise: depthwise))
        }
        return out
    }

    /// Rescales every pair given its tensor's per-channel maxima; returns the model and a
    /// report entry per pair (largest/smallest channel range before and after).
    static func apply(_ model: Model, pairs: [Pair], channelMax: [String: [Float]]) throws -> (Model, [JSONValueLike]) {
        var graph = model.graph
        var report: [JSONValueLike] = []
        for pair in pairs {
            guard let maxima = channelMax[pair.tensor], let ref = maxima.max(), ref > 0 else { continue }
            let conv1 = graph.nodes[pair.producer], conv2 = graph.nodes[pair.consumer]
            guard let w1 = graph.initializers[conv1.inputs[1]], let w2 = graph.initializers[conv2.inputs[1]], maxima.count == w1.dims[0] else { continue }
            // s ≤ 1: channel c grows by 1/s towards the largest one. Dead channels stay.
            let scales: [Float] = maxima.map { r in
                guard r > ref * 1e-4 else { return 1 }
                let full = r / ref
                return pair.depthwise ? full : full.squareRoot()
            }
            var v1 = try w1.scalars(as: Float.self)
            let per1 = v1.count / scales.count
            for c in scales.indices { for k in 0..<per1 { v1[c * per1 + k] /= scales[c] } }
            graph.initializers[conv1.inputs[1]] = try Tensor(dims: w1.dims, scalars: v1)
            if conv1.inputs.count > 2, !conv1.inputs[2].isEmpty, let b = graph.initializers[conv1.inputs[2]] {
                var bv = try b.scalars(as: Float.self)
                for c in scales.indices where c < bv.count { bv[c] /= scales[c] }
                graph.initializers[conv1.inputs[2]] = try Tensor(dims: b.dims, scalars: bv)
            }
            var v2 = try w2.scalars(as: Float.self)
            let k2 = w2.dims[2] * w2.dims[3]
            if pair.depthwise {
                for c in scales.indices { for k in 0..<k2 { v2[c * k2 + k] *= scales[c] } }
            } else {
                let cin = w2.dims[1]
                for o in 0..<w2.dims[0] { for c in 0..<cin { for k in 0..<k2 { v2[(o * cin + c) * k2 + k] *= scales[c] } } }
            }
            graph.initializers[conv2.inputs[1]] = try Tensor(dims: w2.dims, scalars: v2)
            let after = zip(maxima, scales).map { $0 / $1 }
            report.append((tensor: pair.tensor, depthwise: pair.depthwise,
                           spreadBefore: ref / Swift.max(maxima.filter { $0 > ref * 1e-4 }.min() ?? ref, 1e-12),
                           spreadAfter: (after.max() ?? 1) / Swift.max(after.filter { $0 > 0 }.min() ?? 1, 1e-12)))
        }
        var out = model
        out.graph = graph
        return (out, report)
    }

    typealias JSONValueLike = (tensor: String, depthwise: Bool, spreadBefore: Float, spreadAfter: Float)
}
