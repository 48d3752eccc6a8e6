import SegGraph
import SegTechnique
import SegTensor

extension FakeQuantModel {
    /// What export changed against the source's codes.
    struct ExportStats {
        var weightCodes = 0
        var changedCodes = 0
        var clampedCodes = 0
        var biasesClipped = 0
    }

    /// The trained fake-quant model back in the source's QDQ layout. Weight codes are
    /// clamp(round(w / s) + z) (round half to even, as QuantizeLinear) with the trained scale,
    /// clamped to the source's code range; bias codes are round(b / (s_x · s_w)) with the
    /// trained input and weight scales, as the post-training writer makes them.
    func export(_ trained: Model) throws -> (Model, ExportStats) {
        var graph = trained.graph
        var stats = ExportStats()
        var dropped = Set<String>()
        for w in weights {
            guard let value = graph.initializers[w.float] else { throw TechniqueError.failed("trained model lacks weight '\(w.float)'") }
            guard let k = graph.nodes.firstIndex(where: { $0.name == w.dequantize && $0.opType == "DequantizeLinear" }) else {
                throw TechniqueError.failed("trained model lacks DequantizeLinear '\(w.dequantize)'")
            }
            var dq = graph.nodes[k]
            let floats = try value.converted(to: .f32).scalars(as: Float.self)
            let scales = try initializerFloats(graph, dq.inputs[1], label: w.dequantize)
            var zeros = [Float](repeating: 0, count: scales.count)
            if dq.inputs.count > 2, !dq.inputs[2].isEmpty { zeros = try initializerFloats(graph, dq.inputs[2], label: w.dequantize) }
            let (channels, inner) = try Self.layout(value.dims, scales: scales.count, node: dq, label: w.dequantize)
            var codes = [Int32](repeating: 0, count: floats.count)
            for i in floats.indices {
                let c = channels == 1 ? 0 : (i / inner) % channels
                let v = (floats[i] / scales[c]).rounded(.toNearestOrEven) + zeros[zeros.count == 1 ? 0 : c]
                let clamped = Swift.min(Swift.max(v, Float(w.low)), Float(w.high))
                if clamped != v { stats.clampedCodes += 1 }
                codes[i] = Int32(clamped)
                if codes[i] != w.original[i] { stats.changedCodes += 1 }
            }
            stats.weightCodes += codes.count
            graph.initializers[w.codes] = w.dtype == .i8
                ? try Tensor(dims: value.dims, scalars: codes.map { Int8($0) })
                : try Tensor(dims: value.dims, scalars: codes.map { UInt8($0) })
            graph.initializers[w.float] = nil
            dq.inputs[0] = w.codes
            graph.nodes[k] = dq
            dropped.insert(w.quantize.name)
        }
        graph.nodes.removeAll { dropped.contains($0.name) && $0.opType == "QuantizeLinear" }

        var producers: [String: Node] = [:]
        for n in graph.nodes { for o in n.outputs { producers[o] = n } }
        for b in biases {
            guard let k = graph.nodes.firstIndex(where: { $0.name == b.consumer }), let value = graph.initializers[b.float] else {
                throw TechniqueError.failed("trained model lacks node '\(b.consumer)' or its bias '\(b.float)'")
            }
            let consumer = graph.nodes[k]
            // The scales the bias codes follow: the consumer's input and weight dequantizers.
            guard let x = producers[consumer.inputs[0]], x.opType == "DequantizeLinear",
                  consumer.inputs.count > 1, let wq = producers[consumer.inputs[1]], wq.opType == "DequantizeLinear" else {
                throw TechniqueError.failed("node '\(b.consumer)': its input and weight are not dequantized, so its bias cannot be")
            }
            let xs = try initializerFloats(graph, x.inputs[1], label: b.consumer)
            let ws = try initializerFloats(graph, wq.inputs[1], label: b.consumer)
            let bias = try value.converted(to: .f32).scalars(as: Float.self)
            let scales = (0..<bias.count).map { xs[0] * ws[ws.count == 1 ? 0 : $0] }
            var codes = [Int32](repeating: 0, count: bias.count)
            for c in bias.indices {
                let v = (Double(bias[c]) / Double(scales[c])).rounded(.toNearestOrEven)
                if abs(v) > Double(Int32.max) { stats.biasesClipped += 1 }
                codes[c] = Int32(Swift.max(Double(Int32.min + 1), Swift.min(Double(Int32.max), v)))
            }
            let dq = b.dequantize
            graph.initializers[dq.inputs[0]] = try Tensor(dims: b.codesDims, scalars: codes)
            graph.initializers[dq.inputs[1]] = try Tensor(dims: [scales.count], scalars: scales)
            if dq.inputs.count > 2, !dq.inputs[2].isEmpty {
                graph.initializers[dq.inputs[2]] = try Tensor(dims: [scales.count], scalars: [Int32](repeating: 0, count: scales.count))
            }
            graph.initializers[b.float] = nil
            graph.nodes[k].inputs[b.input] = dq.outputs[0]
            graph.nodes.append(dq)
        }
        graph.nodes = try graph.sortedNodes()
        var out = trained
        out.graph = graph
        return (out, stats)
    }

    private func initializerFloats(_ graph: Graph, _ name: String, label: String) throws -> [Float] {
        guard let t = graph.initializers[name] else { throw TechniqueError.failed("\(label): '\(name)' is not an initializer") }
        return try t.converted(to: .f32).scalars(as: Float.self)
    }
}
