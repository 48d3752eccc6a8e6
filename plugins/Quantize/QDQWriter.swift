import SegGraph
import SegTechnique
import SegTensor

/// Writes a quantization plan as a standard QDQ ONNX graph (ONNX Runtime's layout): s8
/// symmetric weights (per output channel by default) and s32 biases behind DequantizeLinear,
/// a QuantizeLinear → DequantizeLinear pair on every quantized activation. The file holds
/// INT8 weights, so it is about a quarter of the FP32 one.
struct QDQWriter {
    var perChannel: Bool
    /// Per-channel means of compute inputs (FP32 run): bias correction when present.
    var inputMeans: [String: [Float]] = [:]
    /// `false`: only weights are quantized (weight-only mode), activations stay FP32.
    var quantizeActivations = true
    /// Largest weight code of dense (GEMM) layers: 127, or 64 for kernels that must not
    /// saturate (narrowWeights). Depthwise convs always use 127: their INT8 kernel widens to
    /// 16 bits and cannot saturate, and with few taps per channel they are the layers that
    /// feel the lost bit most.
    var weightLimit = 127
    /// s8 codes chosen elsewhere (AdaRound) by weight initializer name, written instead of
    /// round-to-nearest. Their scales are the ones computed here (max|w| / limit per channel).
    var weightCodes: [String: Tensor] = [:]

    static func isDepthwise(_ node: Node, weight: Tensor) -> Bool {
        let group = node[attribute: "group"]?.intValue ?? 1
        return node.opType == "Conv" && group > 1 && weight.dims.count >= 2 && weight.dims[1] == 1
    }

    struct LayerRecord {
        var node: String
        var opType: String
        var weightChannels = 0
        var weightScaleRange: (Float, Float)? = nil
        var biasCorrected = false
        var biasClipped = 0
    }

    /// `params`: u8 parameters per calibrated tensor (ignored in weight-only mode).
    struct Written {
        var model: Model
        var layers: [LayerRecord]
        /// Activation tensor → the name of its dequantized value in the written graph.
        var dequantized: [String: String]
    }

    func write(_ model: Model, plan: QuantizationPlan, params: [String: QuantParams]) throws -> Written {
        var dequantized: [String: String] = [:]
        var graph = model.graph
        var records: [LayerRecord] = []
        // Without activation quantization nothing can stand in for an absorbed Relu: keep it.
        let absorbed = quantizeActivations ? Set(plan.quantized.filter { !$0.keepsAbsorbed }.compactMap(\.absorbed)) : []
        var added: [Node] = []
        var quantizedWeights: [String: (name: String, scales: [Float])] = [:]
        var names = NameAllocator(graph)
        func fresh(_ base: String) -> String { names.fresh(base) }

        // Compute nodes: absorb the activation, quantize weight and bias.
        for q in plan.quantized {
            var node = graph.nodes[q.index]
            if quantizeActivations && !q.keepsAbsorbed { node.outputs[0] = q.output }
            if case .compute(let wi, let axis, let bias) = q.role {
                var record = LayerRecord(node: QuantizationPlan.label(node, q.index), opType: node.opType)
                let wName = node.inputs[wi]
                guard let w = graph.initializers[wName] ?? plan.constant(wName) else {
                    throw TechniqueError.failed("node '\(record.node)': weight '\(wName)' is not a constant")
                }
                let limit = Self.isDepthwise(node, weight: w) ? 127 : weightLimit
                let wq: (name: String, scales: [Float])
                if let done = quantizedWeights[wName] { wq = done } else {
                    var (qt, scales) = try Self.quantizeWeight(w, axis: perChannel ? axis : nil, limit: limit)
                    if let codes = weightCodes[wName] {
                        guard codes.dtype == .i8, codes.shape == qt.shape else { throw TechniqueError.failed("node '\(record.node)': rounded codes for '\(wName)' do not match the weight's shape") }
                        qt = codes
                    }
                    let qName = fresh("\(wName)_quantized"), sName = fresh("\(wName)_scale"), zName = fresh("\(wName)_zero_point")
                    let dq = fresh("\(wName)_DequantizeLinear_Output")
                    graph.initializers[qName] = qt
                    graph.initializers[sName] = try scales.count == 1 ? Tensor(dims: [], scalars: scales) : Tensor(dims: [scales.count], scalars: scales)
                    graph.initializers[zName] = try Tensor(dtype: .i8, shape: Shape(scales.count == 1 ? [] : [scales.count]), bytes: [UInt8](repeating: 0, count: scales.count))
                    var attrs: [NamedAttribute] = []
                    if scales.count > 1 { attrs.append(NamedAttribute("axis", .int(axis))) }
                    added.append(Node(name: fresh("\(wName)_DequantizeLinear"), opType: "DequantizeLinear", inputs: [qName, sName, zName], outputs: [dq], attributes: attrs))
                    wq = (dq, scales)
                    quantizedWeights[wName] = wq
                }
                node.inputs[wi] = wq.name
                record.weightChannels = wq.scales.count
                record.weightScaleRange = (wq.scales.min() ?? 0, wq.scales.max() ?? 0)

                if let bi = bias, quantizeActivations, let xParams = params[plan.paramSource[q.activationInputs[0]] ?? q.activationInputs[0]] {
                    let bName = node.inputs[bi]
                    guard let b = graph.initializers[bName] ?? plan.constant(bName) else { throw TechniqueError.failed("node '\(record.node)': bias '\(bName)' is not a constant") }
                    var bv = try b.converted(to: .f32).scalars(as: Float.self)
                    if let means = inputMeans[q.activationInputs[0]], let correction = Self.biasCorrection(node: node, weight: w, scales: wq.scales, axis: axis, means: means, limit: limit) {
                        for c in 0..<Swift.min(bv.count, correction.count) { bv[c] -= correction[c] }
                        record.biasCorrected = true
                    }
                    let channels = bv.count
                    let bScales = (0..<channels).map { xParams.scale * wq.scales[wq.scales.count == 1 ? 0 : $0] }
                    var qb = [Int32](repeating: 0, count: channels)
                    for c in 0..<channels {
                        let v = (Double(bv[c]) / Double(bScales[c])).rounded(.toNearestOrEven)
                        if abs(v) > Double(Int32.max) { record.biasClipped += 1 }
                        qb[c] = Int32(Swift.max(Double(Int32.min + 1), Swift.min(Double(Int32.max), v)))
                    }
                    let qName = fresh("\(bName)_quantized"), sName = fresh("\(bName)_scale"), zName = fresh("\(bName)_zero_point")
                    let dq = fresh("\(bName)_DequantizeLinear_Output")
                    graph.initializers[qName] = try Tensor(dims: b.dims, scalars: qb)
                    graph.initializers[sName] = try Tensor(dims: [channels], scalars: bScales)
                    graph.initializers[zName] = try Tensor(dims: [channels], scalars: [Int32](repeating: 0, count: channels))
                    added.append(Node(name: fresh("\(bName)_DequantizeLinear"), opType: "DequantizeLinear", inputs: [qName, sName, zName], outputs: [dq],
                                      attributes: [NamedAttribute("axis", .int(0))]))
                    node.inputs[bi] = dq
                }
                records.append(record)
            }
            graph.nodes[q.index] = node
        }
        if quantizeActivations {
            let outputs = Set(graph.outputs.map(\.name))
            let graphInputs = Set(graph.inputs.map(\.name))
            for t in plan.tensors {
                guard let p = params[plan.paramSource[t] ?? t] else { continue }
                let sName = fresh("\(t)_scale"), zName = fresh("\(t)_zero_point")
                graph.initializers[sName] = Tensor(scalar: p.scale)
                graph.initializers[zName] = Tensor(scalar: p.zeroPoint)
                // Graph outputs keep their name on the dequantized value; the producer's
                // result is renamed.
                var source = t
                if outputs.contains(t) && !graphInputs.contains(t) {
                    source = fresh("\(t)_fp32")
                    for k in graph.nodes.indices { graph.nodes[k].outputs = graph.nodes[k].outputs.map { $0 == t ? source : $0 } }
                }
                let qOut = fresh("\(t)_QuantizeLinear_Output")
                let dqOut = outputs.contains(t) && !graphInputs.contains(t) ? t : fresh("\(t)_DequantizeLinear_Output")
                if dqOut != t {
                    for k in graph.nodes.indices { graph.nodes[k].inputs = graph.nodes[k].inputs.map { $0 == t ? dqOut : $0 } }
                    for k in added.indices { added[k].inputs = added[k].inputs.map { $0 == t ? dqOut : $0 } }
                }
                dequantized[t] = dqOut
                added.append(Node(name: fresh("\(t)_QuantizeLinear"), opType: "QuantizeLinear", inputs: [source, sName, zName], outputs: [qOut]))
                added.append(Node(name: fresh("\(t)_DequantizeLinear"), opType: "DequantizeLinear", inputs: [qOut, sName, zName], outputs: [dqOut]))
            }
        }
        graph.nodes = graph.nodes.enumerated().filter { !absorbed.contains($0.offset) }.map(\.element) + added
        // Original float weights nothing reads any more go; nodes in dependency order.
        let read = Set(graph.nodes.flatMap(\.inputs))
        for name in graph.initializers.names where !read.contains(name) && !graph.outputs.contains(where: { $0.name == name }) {
            graph.initializers[name] = nil
        }
        graph.nodes = try graph.sortedNodes()
        graph.valueInfo = graph.valueInfo.filter { vi in !absorbed.contains { plan.graph.nodes[$0].inputs.first == vi.name } }
        var out = model
        out.graph = graph
        Self.requireOpset(&out, perAxis: perChannel)
        return Written(model: out, layers: records, dequantized: dequantized)
    }

    /// Per-axis QuantizeLinear/DequantizeLinear need opset 13.
    static func requireOpset(_ model: inout Model, perAxis: Bool) {
        let needed = perAxis ? 13 : 10
        if let i = model.opsetImports.firstIndex(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }), model.opsetImports[i].version < needed {
            model.opsetImports[i].version = needed
        }
    }

    /// Symmetric s8 in [-limit, limit]: scale = max|w| / limit per slice along `axis` (all of
    /// the tensor when nil). An all-zero slice gets scale 1.
    static func quantizeWeight(_ w: Tensor, axis: Int?, limit: Int = 127) throws -> (Tensor, [Float]) {
        let lim = Float(limit)
        let v = try w.converted(to: .f32).scalars(as: Float.self)
        let dims = w.dims
        let channels = axis.map { dims[$0] } ?? 1
        let outer = axis.map { dims[..<$0].reduce(1, *) } ?? 1
        let inner = axis.map { dims[($0 + 1)...].reduce(1, *) } ?? v.count
        var scales = [Float](repeating: 0, count: channels)
        for o in 0..<outer { for c in 0..<channels { for k in 0..<inner { scales[c] = Swift.max(scales[c], abs(v[(o * channels + c) * inner + k])) } } }
        scales = scales.map { $0 > 0 ? $0 / lim : 1 }
        var q = [UInt8](repeating: 0, count: v.count)
        for o in 0..<outer {
            for c in 0..<channels {
                let inv = 1 / scales[c]
                for k in 0..<inner {
                    let i = (o * channels + c) * inner + k
                    let r = Swift.max(-lim, Swift.min(lim, (v[i] * inv).rounded(.toNearestOrEven)))
                    q[i] = UInt8(bitPattern: Int8(r))
                }
            }
        }
        return (try Tensor(dtype: .i8, shape: w.shape, bytes: q), scales)
    }

    /// Expected output shift from weight rounding, per output channel: Σ (Ŵ − W) · E[x]
    /// over the input channels each output reads (interior pixels; padding ignored).
    static func biasCorrection(node: Node, weight w: Tensor, scales: [Float], axis: Int, means: [Float], limit: Int) -> [Float]? {
        let lim = Float(limit)
        guard node.opType == "Conv", axis == 0, let v = try? w.converted(to: .f32).scalars(as: Float.self) else { return nil }
        let dims = w.dims
        guard dims.count >= 3 else { return nil }
        let cout = dims[0], cinPerGroup = dims[1], k = dims[2...].reduce(1, *)
        let group = node[attribute: "group"]?.intValue ?? 1
        guard group > 0, cout % group == 0, means.count == cinPerGroup * group else { return nil }
        let outPerGroup = cout / group
        var correction = [Float](repeating: 0, count: cout)
        for o in 0..<cout {
            let s = scales[scales.count == 1 ? 0 : o]
            let g = o / outPerGroup
            var acc: Double = 0
            for c in 0..<cinPerGroup {
                let mean = Double(means[g * cinPerGroup + c])
                var errSum: Double = 0
                for t in 0..<k {
                    let x = v[(o * cinPerGroup + c) * k + t]
                    let qx = Swift.max(-lim, Swift.min(lim, (x / s).rounded(.toNearestOrEven))) * s
                    errSum += Double(qx - x)
                }
                acc += errSum * mean
            }
            correction[o] = Float(acc)
        }
        return correction
    }
}
