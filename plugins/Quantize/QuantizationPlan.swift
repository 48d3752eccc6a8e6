import SegGraph
import SegReference
import SegTensor

/// Which nodes run in INT8, where the quantize/dequantize boundaries fall, and why every other
/// node stays FP32: the pre-flight report (`dryRun`) and the recipe `QDQWriter` follows.
///
/// The layout is ONNX Runtime's QDQ format, so ORT and other QDQ consumers run the result:
/// every float activation read or written by a quantized node gets one QuantizeLinear →
/// DequantizeLinear pair; weights are s8 initializers behind a DequantizeLinear; a Relu (or
/// Clip from 0) right after a quantized Conv/Gemm/MatMul/Add is absorbed into the output's
/// range (u8 with zero point 0 saturates negatives, which is ReLU).
struct QuantizationPlan: Sendable {
    enum Role: Sendable, Equatable {
        /// Conv/ConvTranspose/Gemm/MatMul with a constant weight: `weightAxis` is the output
        /// channel axis of the weight (per-channel scales), `bias` its bias input index.
        case compute(weightIndex: Int, weightAxis: Int, bias: Int?)
        /// Elementwise, pooling, concat: activations in, activation out, own output range.
        case activation
        /// Resize, MaxPool: the output is a re-arrangement of input values; it shares the
        /// input's scale and zero point (no requantization).
        case shared
    }

    struct QuantizedNode: Sendable {
        var index: Int
        var node: Node
        var role: Role
        /// Float activation inputs that get Q/DQ.
        var activationInputs: [String]
        /// Output after absorbing a following Relu/Clip (that node's output name).
        var output: String
        /// Index of the absorbed Relu/Clip node, if any.
        var absorbed: Int?
        /// The absorbed node stays in the graph (a fused HardSwish/HardSigmoid/Sigmoid: no
        /// Q/DQ between the layer and its activation, one rounding instead of two).
        var keepsAbsorbed = false
    }

    struct KeptFP32: Sendable {
        var node: Node
        var reason: String
    }

    let graph: Graph
    let constants: [String: Tensor]
    var quantized: [QuantizedNode] = []
    var keptFP32: [KeptFP32] = []
    /// Activation tensors with a Q/DQ pair, in graph order.
    var tensors: [String] = []
    /// Tensor → the tensor whose quantization parameters it uses (itself unless shared).
    var paramSource: [String: String] = [:]

    /// Nodes the planner knows how to run in INT8 (the others stay FP32 with a reason).
    static let activationOps: Set<String> = ["Add", "Mul", "Concat", "Relu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid",
                                             "LeakyRelu", "Tanh", "GlobalAveragePool", "AveragePool"]
    static let sharedOps: Set<String> = ["Resize", "MaxPool"]

    /// `constants`: initializers and values folded at load. `exclude`: node names kept FP32
    /// on request (or by mixed precision, `excludeReason`).
    init(graph: Graph, types: [String: TensorType], constants: [String: Tensor], opset: Int,
         excludeNodes: Set<String>, excludeOpTypes: Set<String>, extraFP32: [String: String] = [:], only: Set<String>? = nil,
         floatHead: Bool = false, floatResidualStream: Bool = false, fuseActivations: Bool = false) {
        self.graph = graph
        var extraFP32 = extraFP32
        if floatHead {
            for label in Self.outputHead(graph) where extraFP32[label] == nil {
                extraFP32[label] = "output head kept FP32 (floatHead): logits stay exact for the argmax"
            }
        }
        if floatResidualStream {
            for label in Self.residualStream(graph) where extraFP32[label] == nil {
                extraFP32[label] = "transformer residual stream or attention logits kept FP32 (floatResidualStream): a LayerNormalization or Softmax reads this sum"
            }
        }
        self.constants = constants
        func isConstant(_ name: String) -> Bool { constants[name] != nil }
        func isFloatActivation(_ name: String) -> Bool {
            !name.isEmpty && !isConstant(name) && types[name]?.elementType == .f32
        }
        let consumers = graph.consumers
        let graphOutputs = Set(graph.outputs.map(\.name))
        var absorbedBy: [Int: Int] = [:]
        var kept = Set<Int>()
        var roles: [Int: (Role, [String])] = [:]

        for (i, node) in graph.nodes.enumerated() {
            func keep(_ reason: String) { keptFP32.append(KeptFP32(node: node, reason: reason)) }
            let label = node.name.isEmpty ? "\(node.opType)#\(i)" : node.name
            if !node.domain.isEmpty && node.domain != "ai.onnx" { keep("custom domain '\(node.domain)'"); continue }
            if let only, !only.contains(label) { keep("not selected (only \(only.count) layer(s) quantized)"); continue }
            if excludeNodes.contains(label) { keep("excluded by excludeNodes"); continue }
            if excludeOpTypes.contains(node.opType) { keep("excluded by excludeOpTypes"); continue }
            if let why = extraFP32[label] { keep(why); continue }
            guard node.outputs.count == 1 || node.opType == "MaxPool", let out = node.outputs.first, isFloatActivation(out) else {
                keep("output is not a float tensor computed at run time"); continue
            }
            switch node.opType {
            case "Conv", "ConvTranspose":
                guard node.inputs.count >= 2, isFloatActivation(node.inputs[0]) else { keep("input is not a float activation"); continue }
                guard let w = constants[node.inputs[1]], w.dtype == .f32, w.dims.count >= 3 else { keep("weight is not a constant float tensor"); continue }
                let group = node[attribute: "group"]?.intValue ?? 1
                // ConvTranspose weights are [Cin, Cout/group, k...]: output channels on axis 1,
                // which is a per-channel axis only without groups.
                if node.opType == "ConvTranspose" && group != 1 { keep("grouped ConvTranspose (per-channel axis would mix groups)"); continue }
                let bias = node.inputs.count > 2 && !node.inputs[2].isEmpty ? 2 : nil
                if let bias, constants[node.inputs[bias]]?.dtype != .f32 { keep("bias is not a constant float tensor"); continue }
                roles[i] = (.compute(weightIndex: 1, weightAxis: node.opType == "Conv" ? 0 : 1, bias: bias), [node.inputs[0]])
            case "Gemm":
                guard node.inputs.count >= 2, isFloatActivation(node.inputs[0]) else { keep("input is not a float activation"); continue }
                guard let w = constants[node.inputs[1]], w.dtype == .f32, w.dims.count == 2 else { keep("B is not a constant 2-D float tensor"); continue }
                if (node[attribute: "transA"]?.intValue ?? 0) != 0 { keep("transA = 1"); continue }
                if (node[attribute: "alpha"]?.floatValue ?? 1) != 1 || (node[attribute: "beta"]?.floatValue ?? 1) != 1 { keep("alpha or beta ≠ 1"); continue }
                let transB = (node[attribute: "transB"]?.intValue ?? 0) != 0
                let n = transB ? w.dims[0] : w.dims[1]
                var bias: Int? = nil
                if node.inputs.count > 2, !node.inputs[2].isEmpty {
                    guard let c = constants[node.inputs[2]], c.dtype == .f32, c.elementCount == n, c.dims.count == 1 else { keep("C is not a constant 1-D float bias of size N"); continue }
                    bias = 2
                }
                roles[i] = (.compute(weightIndex: 1, weightAxis: transB ? 0 : 1, bias: bias), [node.inputs[0]])
            case "MatMul":
                guard node.inputs.count == 2, isFloatActivation(node.inputs[0]) else { keep("A is not a float activation"); continue }
                guard let w = constants[node.inputs[1]], w.dtype == .f32, w.dims.count == 2 else { keep("B is not a constant 2-D float tensor"); continue }
                roles[i] = (.compute(weightIndex: 1, weightAxis: 1, bias: nil), [node.inputs[0]])
            case _ where Self.activationOps.contains(node.opType):
                let data = ["Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Relu", "LeakyRelu", "Tanh", "GlobalAveragePool", "AveragePool"].contains(node.opType)
                    ? [node.inputs[0]] : node.inputs.filter { !$0.isEmpty }
                if node.opType == "Clip", node.inputs.dropFirst().contains(where: { !$0.isEmpty && !isConstant($0) }) { keep("Clip bounds are computed at run time"); continue }
                guard data.allSatisfy(isFloatActivation) else { keep("an operand is a constant or not float (kept FP32)"); continue }
                roles[i] = (.activation, data)
            case _ where Self.sharedOps.contains(node.opType):
                guard isFloatActivation(node.inputs[0]) else { keep("input is not a float activation"); continue }
                if node.opType == "MaxPool" && node.outputs.count > 1 && !node.outputs[1].isEmpty { keep("MaxPool with indices output"); continue }
                if node.opType == "Resize", let mode = node[attribute: "mode"]?.stringValue, mode == "cubic" { keep("cubic Resize overshoots the input range"); continue }
                roles[i] = (.shared, [node.inputs[0]])
            default:
                keep(opset < 10 ? "opset \(opset) has no QuantizeLinear" : "no INT8 kernel for \(node.opType)")
            }
        }

        // Absorb Relu / Clip(0, x) after a quantized compute or Add node that feeds only it.
        for (i, (role, _)) in roles {
            let node = graph.nodes[i]
            guard node.opType != "Relu", node.opType != "Clip" else { continue }
            if case .compute = role {} else if node.opType != "Add" { continue }
            guard let out = node.outputs.first, !graphOutputs.contains(out), let readers = consumers[out], readers.count == 1,
                  let j = readers.first, roles[j] != nil else { continue }
            let act = graph.nodes[j]
            guard act.inputs.first == out else { continue }
            if act.opType == "Relu" || (act.opType == "Clip" && Self.clipMinimum(act, constants) == 0) { absorbedBy[j] = i }
            else if fuseActivations, case .compute = role, ["HardSwish", "HardSigmoid", "Sigmoid"].contains(act.opType) { absorbedBy[j] = i; kept.insert(j) }
        }

        for (i, node) in graph.nodes.enumerated() {
            guard let (role, inputs) = roles[i], absorbedBy[i] == nil else { continue }
            var output = node.outputs[0]
            var absorbed: Int? = nil
            if let j = absorbedBy.first(where: { $0.value == i })?.key { absorbed = j; output = graph.nodes[j].outputs[0] }
            quantized.append(QuantizedNode(index: i, node: node, role: role, activationInputs: inputs, output: output, absorbed: absorbed,
                                           keepsAbsorbed: absorbed.map { kept.contains($0) } ?? false))
        }
        // Tensors in graph order; shared outputs point at their input's parameters.
        var seen = Set<String>()
        for q in quantized {
            for t in q.activationInputs + [q.output] where seen.insert(t).inserted { tensors.append(t); paramSource[t] = t }
        }
        for q in quantized where q.role == .shared {
            paramSource[q.output] = paramSource[q.activationInputs[0]] ?? q.activationInputs[0]
        }
        // Chains of shared nodes resolve to the first real range.
        for t in tensors {
            var s = t, hops = 0
            while let next = paramSource[s], next != s, hops < 64 { s = next; hops += 1 }
            paramSource[t] = s
        }
    }

    static let computeOps: Set<String> = ["Conv", "ConvTranspose", "Gemm", "MatMul"]

    /// The non-compute nodes between the last compute layers and the graph outputs (the
    /// classifier's Add and the final upsampling, typically): quantizing logits to 8 bits
    /// flips argmax decisions between close classes for little speed.
    static func outputHead(_ graph: Graph) -> [String] {
        let producers = graph.producers
        var labels: [String] = [], seen = Set<Int>()
        var stack = graph.outputs.compactMap { producers[$0.name] }
        while let i = stack.popLast() {
            guard seen.insert(i).inserted else { continue }
            let node = graph.nodes[i]
            guard !computeOps.contains(node.opType) else { continue }
            labels.append(label(node, i))
            for input in node.inputs where !input.isEmpty { if let p = producers[input] { stack.append(p) } }
        }
        return labels
    }

    /// The Adds whose sum a LayerNormalization or a Softmax reads, directly or through ops that
    /// only move data (reshapes, transposes, slices, concats, pads): a transformer's residual
    /// stream (the next block's norm reads it; Swin's stage outputs reach a norm through patch
    /// merging's slices and concat) and its attention logits plus a mask or bias. The residual
    /// stream's few outlier channels set any calibrated per-tensor range, leaving the rest a
    /// handful of levels; a masked-attention Add's range spans the mask's large negatives, so
    /// 8 bits cannot tell logits apart. On a CamVid-trained Mask2Former (Swin-tiny), static INT8
    /// agreed with FP32 on 97.7% of val pixels with these Adds quantized.
    static func residualStream(_ graph: Graph) -> [String] {
        let consumers = graph.consumers
        let dataMovement: Set<String> = ["Reshape", "Transpose", "Slice", "Concat", "Pad", "Squeeze", "Unsqueeze", "Flatten", "Identity"]
        func reachesNormOrSoftmax(_ value: String, depth: Int) -> Bool {
            guard depth < 16 else { return false }
            return (consumers[value] ?? []).contains { j in
                let reader = graph.nodes[j]
                if reader.opType == "LayerNormalization" || reader.opType == "Softmax" { return reader.inputs.first == value }
                guard dataMovement.contains(reader.opType), let out = reader.outputs.first else { return false }
                return reachesNormOrSoftmax(out, depth: depth + 1)
            }
        }
        return graph.nodes.enumerated().compactMap { i, node in
            guard node.opType == "Add", let out = node.outputs.first, reachesNormOrSoftmax(out, depth: 0) else { return nil }
            return label(node, i)
        }
    }

    static func clipMinimum(_ node: Node, _ constants: [String: Tensor]) -> Float? {
        if node.inputs.count > 1, !node.inputs[1].isEmpty {
            return (try? constants[node.inputs[1]]?.converted(to: .f32).scalars(as: Float.self))??.first
        }
        return node[attribute: "min"]?.floatValue ?? (node.inputs.count > 1 ? nil : -Float.greatestFiniteMagnitude)
    }

    func constant(_ name: String) -> Tensor? { constants[name] }

    /// A quantized node's label together with the activation it absorbs: kept FP32 or
    /// quantized alone, they go together.
    func group(_ label: String) -> [String] {
        guard let q = quantized.first(where: { Self.label($0.node, $0.index) == label }) else { return [label] }
        return [label] + (q.absorbed.map { [Self.label(graph.nodes[$0], $0)] } ?? [])
    }

    /// Tensors whose range must be calibrated (shared outputs borrow theirs).
    var calibratedTensors: [String] { tensors.filter { paramSource[$0] == $0 } }

    /// Inputs of compute nodes: their per-channel means drive bias correction.
    var computeInputs: [String] {
        quantized.compactMap { if case .compute = $0.role { return $0.activationInputs.first } else { return nil } }
    }

    static func label(_ node: Node, _ index: Int) -> String { node.name.isEmpty ? "\(node.opType)#\(index)" : node.name }

    /// Where values cross between INT8 and FP32: a quantized tensor read by an FP32 node
    /// (dequantized there) or an FP32 result read by a quantized node (quantized there).
    var boundaries: [(tensor: String, kind: String, node: String)] {
        let quantizedIndices = Set(quantized.map(\.index) + quantized.compactMap(\.absorbed))
        let producers = graph.producers
        let qTensors = Set(tensors)
        var out: [(String, String, String)] = []
        let inputs = Set(graph.inputs.map(\.name))
        for t in tensors {
            let producedByQuantized = producers[t].map { quantizedIndices.contains($0) } ?? false
            if !producedByQuantized {
                out.append((t, inputs.contains(t) ? "quantize graph input" : "quantize FP32 result", producers[t].map { Self.label(graph.nodes[$0], $0) } ?? t))
            }
            for j in graph.consumers[t] ?? [] where !quantizedIndices.contains(j) {
                out.append((t, "dequantize for FP32 consumer", Self.label(graph.nodes[j], j)))
            }
            if graph.outputs.contains(where: { $0.name == t }) { out.append((t, "dequantize graph output", t)) }
        }
        _ = qTensors
        return out
    }
}
