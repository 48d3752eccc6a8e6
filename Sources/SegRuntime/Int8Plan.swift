import SegGraph
import SegKernels
import SegReference
import SegTensor

/// A DequantizeLinear of an initializer in the model as loaded (s8 weights, s32 bias), kept
/// before constant folding turns its output into floats, so INT8 kernels get the codes.
struct QuantizedConstant: Sendable {
    let codes: Tensor
    let scales: [Float]
    let zeros: [Int32]
    /// Axis of per-axis scales (resolved), or nil for one scale.
    let axis: Int?

    /// DQ outputs of initializers, by output name.
    static func collect(_ model: Model) -> [String: QuantizedConstant] {
        var out: [String: QuantizedConstant] = [:]
        for node in model.graph.nodes where node.opType == "DequantizeLinear" && (node.domain.isEmpty || node.domain == "ai.onnx") {
            guard node.inputs.count >= 2, let codes = model.graph.initializers[node.inputs[0]],
                  let scale = model.graph.initializers[node.inputs[1]], scale.dtype == .f32,
                  let scales = try? scale.scalars(as: Float.self), let y = node.outputs.first else { continue }
            var zeros = [Int32](repeating: 0, count: scales.count)
            if node.inputs.count > 2, !node.inputs[2].isEmpty {
                guard let z = model.graph.initializers[node.inputs[2]] else { continue }
                switch z.dtype {
                case .i8: zeros = ((try? z.scalars(as: Int8.self)) ?? []).map { Int32($0) }
                case .u8: zeros = ((try? z.scalars(as: UInt8.self)) ?? []).map { Int32($0) }
                case .i32: zeros = (try? z.scalars(as: Int32.self)) ?? []
                default: continue
                }
            }
            var axis: Int? = nil
            if scales.count > 1 {
                var a = node[attribute: "axis"]?.intValue ?? 1
                if a < 0 { a += codes.dims.count }
                axis = a
            }
            out[y] = QuantizedConstant(codes: codes, scales: scales, zeros: zeros, axis: axis)
        }
        return out
    }
}

/// The INT8 plan of one compiled model: which u8 values stay quantized (NHWC, in the arena)
/// between INT8 steps, which nodes run as INT8 steps (each absorbing the QuantizeLinear after
/// it, and a Relu/Clip in between for convs), and which DequantizeLinear nodes only fed them.
struct Int8Plan {
    /// Quantized values the INT8 path keeps, NHWC, with their (per-tensor u8) parameters.
    var values: [String: QuantParameters] = [:]
    /// Node index → its INT8 step and the later nodes it absorbs.
    var matches: [Int: (pending: PlanBuilder.Pending, consumed: [Int])] = [:]
    /// DequantizeLinear nodes whose every reader is an INT8 step.
    var skipped = Set<Int>()

    init(_ b: PlanBuilder) {
        var producer: [String: Int] = [:]
        var readerNodes: [String: [Int]] = [:]
        for (i, n) in b.nodes.enumerated() {
            for o in n.outputs where !o.isEmpty { producer[o] = i }
            for x in Set(n.inputs) where !x.isEmpty { readerNodes[x, default: []].append(i) }
        }
        // Candidates: a QuantizeLinear's 4-D u8 per-tensor output read only by DQs with the
        // same parameters.
        var candidates: [String: QuantParameters] = [:]
        for (i, n) in b.nodes.enumerated() where n.opType == "QuantizeLinear" {
            guard let x = n.inputs.first, let v = n.outputs.first, b.isArena(v), b.elementType(v) == .u8, !b.isGraphOutput(v),
                  b.dims(v)?.count == 4, let p = QuantPath.parameters(n, dims: b.dims(x), b), p.values.count == 1,
                  let readers = readerNodes[v], !readers.isEmpty,
                  readers.allSatisfy({ j in
                      let d = b.nodes[j]
                      return d.opType == "DequantizeLinear" && d.inputs.first == v && d.outputs.first.map(b.isPlanned) == true
                          && QuantPath.parameters(d, dims: b.dims(v), b) == p
                  }) else { continue }
            _ = i
            candidates[v] = p.values[0]
        }
        let context = Int8Matcher(b: b, candidates: candidates, producer: producer, readerNodes: readerNodes)
        var used = Set<String>()
        for i in b.nodes.indices {
            guard let m = context.match(i) else { continue }
            matches[i] = (m.pending, m.consumed)
            used.formUnion(m.values)
        }
        values = candidates.filter { used.contains($0.key) }
        for (i, n) in b.nodes.enumerated() where n.opType == "DequantizeLinear" {
            guard let v = n.inputs.first, values[v] != nil, let y = n.outputs.first, !b.isGraphOutput(y),
                  let readers = readerNodes[y], readers.allSatisfy({ matches[$0] != nil }) else { continue }
            skipped.insert(i)
        }
    }

    /// Q into / DQ out of the INT8 path: the layout change to/from NHWC.
    func edge(_ i: Int, _ b: PlanBuilder) -> PlanBuilder.Pending? {
        let n = b.nodes[i]
        guard let x = n.inputs.first, let y = n.outputs.first else { return nil }
        if n.opType == "QuantizeLinear", let p = values[y], let d = b.dims(x) {
            return .init(reads: [x], writes: [y], kind: "QuantizeLinear (to NHWC)") { slot in
                LayoutQuantStep(quantize: true, input: slot(x), output: slot(y), parameters: p, dims: d, context: b.context)
            }
        }
        if n.opType == "DequantizeLinear", let p = values[x], let d = b.dims(x) {
            return .init(reads: [x], writes: [y], kind: "DequantizeLinear (from NHWC)") { slot in
                LayoutQuantStep(quantize: false, input: slot(x), output: slot(y), parameters: p, dims: d, context: b.context)
            }
        }
        return nil
    }
}

/// Matches one node to an INT8 kernel.
struct Int8Matcher {
    let b: PlanBuilder
    let candidates: [String: QuantParameters]
    let producer: [String: Int]
    let readerNodes: [String: [Int]]

    struct Match {
        var pending: PlanBuilder.Pending
        var consumed: [Int]
        /// The quantized values it reads and writes.
        var values: [String]
    }

    /// `name` is a DQ of a candidate value: that value and its parameters.
    func input(_ name: String) -> (String, QuantParameters)? {
        guard let p = producer[name], b.nodes[p].opType == "DequantizeLinear", let v = b.nodes[p].inputs.first,
              let q = candidates[v] else { return nil }
        return (v, q)
    }

    /// `value` is read only by a QuantizeLinear that makes a candidate: its index and output.
    func output(_ value: String) -> (Int, String, QuantParameters)? {
        guard b.readers[value] == 1, !b.isGraphOutput(value), let rs = readerNodes[value], rs.count == 1 else { return nil }
        let q = b.nodes[rs[0]]
        guard q.opType == "QuantizeLinear", q.inputs.first == value, let v = q.outputs.first, let p = candidates[v] else { return nil }
        return (rs[0], v, p)
    }

    func match(_ i: Int) -> Match? {
        let node = b.nodes[i]
        guard node.domain.isEmpty || node.domain == "ai.onnx", let out = node.outputs.first, node.outputs.count == 1 else { return nil }
        switch node.opType {
        case "Conv": return conv(i)
        case "Add", "Mul":
            if let fused = gatedByItself(i) { return fused }
            guard node.inputs.count == 2, let (a, pa) = input(node.inputs[0]), let (c, pc) = input(node.inputs[1]),
                  let (qi, y, po) = output(out), let ad = b.dims(a), let cd = b.dims(c), let od = b.dims(out), od.count == 4 else { return nil }
            var (x, px, z, pz) = (a, pa, c, pc)
            let broadcast: QBroadcast
            if ad == od && cd == od {
                broadcast = .none
            } else {
                if ad != od { (x, px, z, pz) = (c, pc, a, pa) }
                let zd = x == a ? cd : ad
                guard b.dims(x) == od, zd.count == 4, zd[1] == od[1], zd[2] == 1, zd[3] == 1, zd[0] == 1 || zd[0] == od[0] else { return nil }
                broadcast = .channel(imagesInB: zd[0])
            }
            let op: BinaryOperation = node.opType == "Add" ? .add : .multiply
            let kind = "Q" + node.opType
            return Match(pending: .init(reads: [x, z], writes: [y], kind: kind) { slot in
                QBinaryStep(operation: op, a: slot(x), aParameters: px, b: slot(z), bParameters: pz, broadcast: broadcast,
                            output: slot(y), outputParameters: po, dims: od, context: b.context, kind: kind)
            }, consumed: [qi], values: [x, z, y])
        case "Concat":
            // Along channels (NHWC's last axis): each input's bytes copied per pixel, through a
            // requantizing table when its parameters differ from the output's (exactly what
            // DQ → float Concat → Q computes element by element).
            guard var axis = node[attribute: "axis"]?.intValue, let od = b.dims(out), od.count == 4 else { return nil }
            if axis < 0 { axis += 4 }
            guard axis == 1, let (qi, y, po) = output(out) else { return nil }
            var parts: [(value: String, parameters: QuantParameters, channels: Int)] = []
            for name in node.inputs {
                guard let (v, p) = input(name), let d = b.dims(v), d.count == 4, d[0] == od[0], d[2] == od[2], d[3] == od[3] else { return nil }
                parts.append((v, p, d[1]))
            }
            guard !parts.isEmpty, parts.reduce(0, { $0 + $1.channels }) == od[1] else { return nil }
            let tables: [[UInt8]?] = parts.map { $0.parameters == po ? nil : qLookupTable(input: $0.parameters, output: po) { $0 } }
            let pixels = od[0] * od[2] * od[3]
            return Match(pending: .init(reads: parts.map(\.value), writes: [y], kind: "QConcat") { slot in
                QConcatStep(inputs: parts.map { slot($0.value) }, channels: parts.map(\.channels), tables: tables, output: slot(y),
                            pixels: pixels, context: b.context)
            }, consumed: [qi], values: parts.map(\.value) + [y])
        case "MaxPool":
            // Max commutes with the (non-decreasing) quantization: the max of the codes, through
            // a requantizing table when the output's parameters differ, is what DQ → MaxPool → Q gives.
            guard let (x, px) = input(node.inputs[0]), let (qi, y, po) = output(out), let xd = b.dims(x), let od = b.dims(out),
                  let shape = DataMovementPath.poolShape(node, xd: xd, od: od) else { return nil }
            let table: [UInt8]? = px == po ? nil : qLookupTable(input: px, output: po) { $0 }
            let batch = xd[0]
            return Match(pending: .init(reads: [x], writes: [y], kind: "QMaxPool") { slot in
                QMaxPoolStep(shape: shape, batch: batch, table: table, input: slot(x), output: slot(y), context: b.context)
            }, consumed: [qi], values: [x, y])
        case "GlobalAveragePool":
            guard let (x, px) = input(node.inputs[0]), let (qi, y, po) = output(out), let d = b.dims(x) else { return nil }
            return Match(pending: .init(reads: [x], writes: [y], kind: "QGlobalAveragePool") { slot in
                QPoolStep(input: slot(x), inputParameters: px, output: slot(y), outputParameters: po, dims: d, context: b.context)
            }, consumed: [qi], values: [x, y])
        case "Resize", "Upsample":
            guard let (x, px) = input(node.inputs[0]), let (qi, y, po) = output(out), let (mode, coordinates, scales) = ResizePath.parse(node, in: b),
                  let xd = b.dims(x), let od = b.dims(out) else { return nil }
            return Match(pending: .init(reads: [x], writes: [y], kind: "QResize") { slot in
                QResizeStep(mode: mode, coordinates: coordinates, scales: scales, input: slot(x), inputParameters: px,
                            output: slot(y), outputParameters: po, inDims: xd, outDims: od, context: b.context)
            }, consumed: [qi], values: [x, y])
        default:
            guard FastPath.activation(node, b) != nil, let (x, px) = input(node.inputs[0]), let (qi, y, po) = output(out),
                  let table = lookupTable(node, px, po) else { return nil }
            let kind = "QLookup (\(node.opType))"
            return Match(pending: .init(reads: [x], writes: [y], kind: kind) { slot in
                QLookupStep(table: table, input: slot(x), output: slot(y), context: b.context, kind: kind)
            }, consumed: [qi], values: [x, y])
        }
    }

    /// Mul(DQ(a), DQ(Q(act(DQ(a))))): a value times an activation of itself (HardSwish written
    /// as x · HardSigmoid(x), Swish as x · Sigmoid(x)). The output code is a function of a's code
    /// alone, so the pair is one 256-entry table, computed as the QDQ graph does (the gate
    /// quantized to its own codes, the float product quantized); the activation's own lookup
    /// step then has no reader left and is dropped.
    func gatedByItself(_ i: Int) -> Match? {
        let node = b.nodes[i]
        guard node.opType == "Mul", node.inputs.count == 2, let out = node.outputs.first, let (qi, y, po) = output(out) else { return nil }
        for (first, second) in [(0, 1), (1, 0)] {
            guard let (a, pa) = input(node.inputs[first]), let (g, pg) = input(node.inputs[second]), a != g,
                  let q = producer[g], b.nodes[q].opType == "QuantizeLinear", let actOut = b.nodes[q].inputs.first,
                  let k = producer[actOut], FastPath.activation(b.nodes[k], b) != nil, let actIn = b.nodes[k].inputs.first,
                  input(actIn)?.0 == a, b.dims(a) == b.dims(g), b.dims(a) == b.dims(out),
                  let gate = lookupTable(b.nodes[k], pa, pg) else { continue }
            let table: [UInt8] = (0..<256).map { code in
                UInt8(truncatingIfNeeded: po.quantize(pa.dequantize(Int32(code)) * pg.dequantize(Int32(gate[code]))))
            }
            let kind = "QLookup (\(b.nodes[k].opType) gate)"
            return Match(pending: .init(reads: [a], writes: [y], kind: kind) { slot in
                QLookupStep(table: table, input: slot(a), output: slot(y), context: b.context, kind: kind)
            }, consumed: [qi], values: [a, y])
        }
        return nil
    }

    /// The node's reference implementation on the 256 dequantized codes, quantized: exactly
    /// what the QDQ graph computes for each code.
    func lookupTable(_ node: Node, _ pi: QuantParameters, _ po: QuantParameters) -> [UInt8]? {
        let opset = b.model.opsetVersion(for: "") ?? 0
        guard let def = b.registry.definition(domain: node.domain, opType: node.opType, opset: opset) else { return nil }
        let xs = (0..<256).map { pi.dequantize(Int32($0)) }
        guard let x = try? Tensor(dims: [256], scalars: xs) else { return nil }
        var args: [Tensor?] = [x]
        for name in node.inputs.dropFirst() {
            if name.isEmpty { args.append(nil); continue }
            guard let c = b.constant(name) else { return nil }
            args.append(c)
        }
        guard let y = try? def.run(NodeContext(node: node, opset: opset), args).first, let ys = try? y.scalars(as: Float.self),
              ys.count == 256 else { return nil }
        return ys.map { UInt8(truncatingIfNeeded: po.quantize($0)) }
    }

    func conv(_ i: Int) -> Match? {
        let node = b.nodes[i]
        guard node.inputs.count >= 2, let (x, px) = input(node.inputs[0]), let xd = b.dims(x), xd.count == 4,
              let w = b.quantized[node.inputs[1]], w.codes.dtype == .i8, w.codes.dims.count == 4, w.zeros.allSatisfy({ $0 == 0 }),
              w.scales.count == 1 || (w.axis == 0 && w.scales.count == w.codes.dims[0]),
              let codes = try? w.codes.scalars(as: Int8.self),
              let out = node.outputs.first, let od = b.dims(out), od.count == 4,
              let window = try? ConvGeometry(node),
              let kernel = try? window.kernel(rank: 2, fromWeights: [w.codes.dims[2], w.codes.dims[3]]),
              let axes = try? window.forwardAxes(input: [xd[2], xd[3]], kernel: kernel) else { return nil }
        // Explicit pads only, as before the geometry was shared: SAME/VALID int8 convs keep
        // running where they ran (the reference), so quantized results stay as they were.
        guard window.autoPad == .notSet else { return nil }
        let cout = w.codes.dims[0]
        let group = node[attribute: "group"]?.intValue ?? 1
        guard w.codes.dims[1] * group == xd[1] else { return nil }
        let shape = Conv2DShape(inputChannels: xd[1], height: xd[2], width: xd[3], outputChannels: cout,
                                kernelH: kernel[0], kernelW: kernel[1], strides: (axes[0].stride, axes[1].stride),
                                pads: (axes[0].padBegin, axes[1].padBegin, axes[0].padEnd, axes[1].padEnd),
                                dilations: (axes[0].dilation, axes[1].dilation), groups: group)
        guard shape.outputHeight == od[2], shape.outputWidth == od[3] else { return nil }
        // Bias: the folded float (code · x_scale · w_scale in the ORT layout) back to s32 codes.
        var bias: [Int32]? = nil
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            guard let bt = b.constant(node.inputs[2]), bt.dtype == .f32, bt.elementCount == cout,
                  let bf = try? bt.scalars(as: Float.self) else { return nil }
            bias = (0..<cout).map { o in
                let s = Double(px.scale) * Double(w.scales[w.scales.count == 1 ? 0 : o])
                return Int32(clamping: Int64((Double(bf[o]) / s).rounded(.toNearestOrEven)))
            }
        }
        // Conv → [Relu | Clip] → Q: the activation is a clamp on the output codes.
        var consumed: [Int] = []
        var quantizedOut: (Int, String, QuantParameters)? = output(out)
        var activation: FastActivation? = nil
        // Conv → HardSwish | HardSigmoid | Sigmoid → Q: the activation runs in float in the epilogue.
        var floatActivation: (Activation, String)? = nil
        if quantizedOut == nil, let (k, act, fa) = FastPath.fusableActivation(after: out, from: i, b), let actOut = act.outputs.first,
           let q = output(actOut) {
            switch fa {
            case .relu, .clip: activation = fa; consumed.append(k); quantizedOut = q
            case .hardSwish: floatActivation = (.hardSwish, act.opType); consumed.append(k); quantizedOut = q
            case let .hardSigmoid(alpha, beta): floatActivation = (.hardSigmoid(alpha: alpha, beta: beta), act.opType); consumed.append(k); quantizedOut = q
            case .sigmoid: floatActivation = (.sigmoid, act.opType); consumed.append(k); quantizedOut = q
            default: break
            }
        }
        let convOutput: QConvOutput
        var writes = out
        var values = [x]
        if let (qi, y, po) = quantizedOut {
            var low: Int32 = 0, high: Int32 = 255
            switch activation {
            case .relu: low = po.quantize(0)
            case let .clip(lo, hi): low = po.quantize(lo); high = po.quantize(hi)
            default: break
            }
            if let (fused, _) = floatActivation {
                convOutput = .u8Activated(scale: po.scale, zeroPoint: po.zeroPoint, activation: fused)
            } else {
                convOutput = .u8(scale: po.scale, zeroPoint: po.zeroPoint, low: low, high: high)
            }
            consumed.append(qi)
            writes = y
            values.append(y)
        } else {
            guard b.isPlanned(out) else { return nil }
            convOutput = .f32
        }
        guard let conv = try? QConv2D(shape: shape, weights: codes, weightScales: w.scales, bias: bias, inputScale: px.scale,
                                      inputZeroPoint: px.zeroPoint, output: convOutput, path: b.qgemmPath,
                                      allowVNNI: b.context.allowsVNNI) else { return nil }
        let kind = "QConv (\(conv.algorithm.rawValue)\(floatActivation.map { ", " + $0.1 } ?? ""))" + (convOutput == .f32 ? " → f32" : "")
        let batch = xd[0]
        return Match(pending: .init(reads: [x], writes: [writes], kind: kind) { [writes] slot in
            QConvStep(conv: conv, input: slot(x), output: slot(writes), batch: batch, context: b.context, kind: kind)
        }, consumed: consumed, values: values)
    }
}
