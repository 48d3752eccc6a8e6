import SegGraph
import SegProtocol
import SegTechnique
import SegTensor

/// Dynamic quantization (ONNX Runtime's `quantize_dynamic` shape): each Conv/MatMul with a
/// constant weight becomes DynamicQuantizeLinear(x) → ConvInteger/MatMulInteger with s8
/// weights → Cast → × (x_scale · w_scale) (+ bias). No calibration; activations get their
/// range from each run. Slower than static INT8 (the ranges are found per run), smaller file.
enum DynamicQuantizer {
    static func apply(_ model: Model, perChannel: Bool, excludeNodes: Set<String>, excludeOpTypes: Set<String>) throws -> (Model, JSONValue) {
        var m = model
        if let i = m.opsetImports.firstIndex(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }), m.opsetImports[i].version < 11 {
            throw TechniqueError.notApplicable("mode 'dynamic' needs opset ≥ 11 (DynamicQuantizeLinear); the model has opset \(m.opsetImports[i].version)")
        }
        let perAxis = perChannel && (m.opsetVersion(for: "") ?? 0) >= 13
        var graph = m.graph
        var nodes: [Node] = []
        var converted: [JSONValue] = [], kept: [JSONValue] = []
        for (i, node) in graph.nodes.enumerated() {
            let label = QuantizationPlan.label(node, i)
            let isCandidate = (node.opType == "Conv" || node.opType == "MatMul") && node.domain.isEmpty
            guard isCandidate, !excludeNodes.contains(label), !excludeOpTypes.contains(node.opType),
                  node.inputs.count >= 2, let w = graph.initializers[node.inputs[1]], w.dtype == .f32,
                  node.opType == "MatMul" ? w.dims.count == 2 : w.dims.count >= 3 else {
                if isCandidate { kept.append(["node": .string(label), "opType": .string(node.opType), "reason": "excluded or weight not a constant float tensor"]) }
                nodes.append(node)
                continue
            }
            let axis = node.opType == "Conv" ? 0 : 1
            let (qw, scales) = try QDQWriter.quantizeWeight(w, axis: perAxis ? axis : nil)
            let p = "\(label)_dyn"
            let x = node.inputs[0], y = node.outputs[0]
            graph.initializers["\(p)_w_quantized"] = qw
            graph.initializers["\(p)_w_zero_point"] = try Tensor(dtype: .i8, shape: Shape(scales.count == 1 ? [] : [scales.count]), bytes: [UInt8](repeating: 0, count: scales.count))
            // Weight scales broadcast along the output channel axis of the result.
            let scaleDims = node.opType == "Conv" ? (scales.count == 1 ? [] : [1, scales.count] + [Int](repeating: 1, count: w.dims.count - 2)) : (scales.count == 1 ? [] : [scales.count])
            graph.initializers["\(p)_w_scale"] = try Tensor(dims: scaleDims, scalars: scales)
            nodes.append(Node(name: "\(p)_quantize", opType: "DynamicQuantizeLinear", inputs: [x], outputs: ["\(p)_x_q", "\(p)_x_scale", "\(p)_x_zero_point"]))
            var integerNode = Node(name: "\(p)_integer", opType: node.opType == "Conv" ? "ConvInteger" : "MatMulInteger",
                                   inputs: ["\(p)_x_q", "\(p)_w_quantized", "\(p)_x_zero_point", "\(p)_w_zero_point"], outputs: ["\(p)_acc"])
            if node.opType == "Conv" { integerNode.attributes = node.attributes }
            nodes.append(integerNode)
            nodes.append(Node(name: "\(p)_cast", opType: "Cast", inputs: ["\(p)_acc"], outputs: ["\(p)_accf"], attributes: [NamedAttribute("to", .int(1))]))
            // ONNX Runtime's order: one scale x_scale · w_scale, then one product with the sums
            // (a runtime folds it into the integer product's epilogue).
            nodes.append(Node(name: "\(p)_scale", opType: "Mul", inputs: ["\(p)_x_scale", "\(p)_w_scale"], outputs: ["\(p)_xw_scale"]))
            let hasBias = node.opType == "Conv" && node.inputs.count > 2 && !node.inputs[2].isEmpty
            nodes.append(Node(name: "\(p)_dequantize", opType: "Mul", inputs: ["\(p)_accf", "\(p)_xw_scale"], outputs: [hasBias ? "\(p)_nobias" : y]))
            if hasBias, let b = graph.initializers[node.inputs[2]] {
                graph.initializers["\(p)_bias"] = try b.reshaped(to: Shape([1, b.elementCount] + [Int](repeating: 1, count: w.dims.count - 2)))
                nodes.append(Node(name: "\(p)_bias_add", opType: "Add", inputs: ["\(p)_nobias", "\(p)_bias"], outputs: [y]))
            }
            converted.append(.string(label))
        }
        graph.nodes = nodes
        let read = Set(graph.nodes.flatMap(\.inputs))
        for name in graph.initializers.names where !read.contains(name) { graph.initializers[name] = nil }
        m.graph = graph
        return (m, ["convertedNodes": .array(converted), "keptFP32": .array(kept), "perChannel": .bool(perAxis)])
    }
}
