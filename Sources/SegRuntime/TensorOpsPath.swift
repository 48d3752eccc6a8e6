import SegGraph
import SegKernels
import SegTensor

/// MatMul, Gemm, Softmax, LayerNormalization, Erf/Gelu/Sqrt, Transpose and general
/// broadcasting Add/Sub/Mul/Div/Pow on SegKernels, in the arena. Returns nil for a node it
/// has no fast kernel for (the reference implementation runs): non-constant parameters,
/// shapes it does not expect, optional outputs that someone reads.
enum TensorOpsPath {
    static func select(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.domain.isEmpty, let out = node.outputs.first, b.isPlanned(out), let od = b.dims(out) else { return nil }
        switch node.opType {
        case "MatMul": return matmul(i, b, &consumed, out: out, od: od)
        case "Gemm": return gemm(node, i, b, &consumed, out: out, od: od)
        case "Softmax": return softmax(node, b, out: out, od: od)
        case "LayerNormalization": return layerNorm(node, b, out: out, od: od)
        case "Erf", "Gelu", "Sqrt": return unary(i, b, &consumed, out: out, od: od)
        case "Transpose": return transpose(node, b, out: out, od: od)
        case "Add", "Sub", "Mul", "Div", "Pow": return binary(i, b, &consumed, out: out, od: od)
        default: return nil
        }
    }

    // MARK: - Operands

    /// A planned value or an f32 constant (other dtypes converted only where `convert`).
    static func source(_ name: String, _ b: PlanBuilder, convert: Bool = false) -> (FloatSource, [Int])? {
        if b.isPlanned(name), let d = b.dims(name) { return (.slot(slotPlaceholder), d) }
        guard let t = b.constant(name), t.dtype == .f32 || convert,
              let v = try? (t.dtype == .f32 ? t : t.converted(to: .f32)).scalars(as: Float.self) else { return nil }
        return (.constant(ConstantFloats(v)), t.dims)
    }

    /// Stands in for a planned operand until slots are known (`resolve` swaps in the real one).
    static let slotPlaceholder = Slot(offset: -1, count: 0, dims: [])

    static func resolve(_ s: FloatSource, _ name: String, _ slot: (String) -> Slot) -> FloatSource {
        if case .slot = s { return .slot(slot(name)) }
        return s
    }

    static func floats(_ name: String, _ b: PlanBuilder) -> [Float]? {
        guard let t = b.constant(name), t.dtype == .f32 else { return nil }
        return try? t.scalars(as: Float.self)
    }

    static func scalarConstant(_ name: String, _ b: PlanBuilder) -> Float? {
        guard let v = floats(name, b), v.count == 1 else { return nil }
        return v[0]
    }

    /// Optional outputs after the first that nobody reads.
    static func onlyFirstOutputUsed(_ node: Node, _ b: PlanBuilder) -> Bool {
        node.outputs.dropFirst().allSatisfy { $0.isEmpty || (b.readers[$0, default: 0] == 0 && !b.isGraphOutput($0)) }
    }

    /// The single node reading `value` (not a graph output), with its index.
    static func soleReader(of value: String, after index: Int, _ b: PlanBuilder) -> (Int, Node)? {
        guard b.readers[value] == 1, !b.isGraphOutput(value),
              let j = (index + 1..<b.nodes.count).first(where: { b.nodes[$0].inputs.contains(value) }) else { return nil }
        let n = b.nodes[j]
        guard n.domain.isEmpty, n.outputs.count == 1, let o = n.outputs.first, b.isPlanned(o) else { return nil }
        return (j, n)
    }

    // MARK: - MatMul and Gemm

    static func matmul(_ i: Int, _ b: PlanBuilder, _ consumed: inout Set<Int>, out: String, od: [Int]) -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.inputs.count == 2, node.outputs.count == 1 else { return nil }
        let (aName, bName) = (node.inputs[0], node.inputs[1])
        guard let (aSource, ad) = source(aName, b), let (bSource, bd) = source(bName, b),
              b.isPlanned(aName) || b.isPlanned(bName),
              let shape = try? MatMulShape(a: ad, b: bd), shape.outputDims == od else { return nil }
        var packed: PackedMatrix? = nil
        if case .constant(let c) = bSource, shape.k >= 1, shape.n >= 1, bd.dropLast(2).allSatisfy({ $0 == 1 }) {
            packed = try? PackedMatrix(b: c.pointer, rows: shape.k, columns: shape.n, leadingDimension: shape.n)
        }

        // Fusion, in order: × or ÷ a scalar, + a bias row [N], + a residual, activation.
        var alpha: Float = 1, bias: [Float]? = nil, residual: String? = nil, activation: Activation = .none
        var writes = out, kind = "MatMul", fused: [Int] = []
        while let (j, next) = soleReader(of: writes, after: fused.last ?? i, b), next.inputs.count == 2, b.dims(next.outputs[0]) == od {
            let other = next.inputs[0] == writes ? next.inputs[1] : next.inputs[0]
            if other == writes { break }
            if bias == nil, residual == nil, next.opType == "Mul" || (next.opType == "Div" && next.inputs[0] == writes),
               let s = scalarConstant(other, b), s != 0 {
                alpha *= next.opType == "Mul" ? s : 1 / s
                kind += "+scale"
            } else if next.opType == "Add", bias == nil, residual == nil, let v = floats(other, b), v.count == shape.n,
                      let cd = b.constant(other)?.dims, cd.count <= od.count, cd.dropLast().allSatisfy({ $0 == 1 }) {
                bias = v
                kind += "+bias"
            } else if next.opType == "Add", residual == nil, b.isPlanned(other), b.dims(other) == od,
                      ConvPath.availableBefore(other, index: i, b) {
                residual = other
                kind += "+Add"
            } else {
                break
            }
            fused.append(j)
            writes = next.outputs[0]
        }
        if let (j, actNode, act) = FastPath.fusableActivation(after: writes, from: fused.last ?? i, b),
           let k = act.kernelActivation, let o = actNode.outputs.first, b.dims(o) == od {
            fused.append(j)
            activation = k
            writes = o
            kind += "+act"
        }
        // A constant-weight linear layer whose result is next transposed to [.., N, M]:
        // computed in that layout (Wᵀ·Aᵀ), no Transpose pass.
        if residual == nil, packed != nil, case .constant(let w) = bSource, b.isPlanned(aName), shape.foldsIntoRows, ad.count >= 2, bd.count == 2,
           let (t, tNode) = soleReader(of: writes, after: fused.last ?? i, b), tNode.opType == "Transpose",
           let perm = tNode[attribute: "perm"]?.intsValue, perm == Array(0..<(od.count - 2)) + [od.count - 1, od.count - 2],
           let td = b.dims(tNode.outputs[0]), td == Array(od.dropLast(2)) + [shape.n, shape.m],
           let packedT = try? PackedMatrix(a: w.pointer, rows: shape.n, columns: shape.k, leadingDimension: shape.n, transposed: true) {
            consumed.formUnion(fused + [t])
            let final = tNode.outputs[0], batches = shape.batches, rows = shape.m
            let biasValues = bias.map(ConstantFloats.init)
            return .init(reads: [aName], writes: [final], kind: kind + "+Transpose") { slot in
                MatMulTransposedStep(batches: batches, m: rows, a: slot(aName), packedWeights: packedT, output: slot(final),
                                     bias: biasValues, activation: activation, context: b.context, kind: kind + "+Transpose")
            }
        }
        consumed.formUnion(fused)
        let biasValues = bias.map(ConstantFloats.init)
        let reads = [aName, bName].filter(b.isPlanned) + (residual.map { [$0] } ?? [])
        return .init(reads: reads, writes: [writes], kind: kind) { [writes] slot in
            MatMulStep(shape: shape, a: resolve(aSource, aName, slot), b: packed == nil ? resolve(bSource, bName, slot) : nil,
                       packedB: packed, output: slot(writes), alpha: alpha, bias: biasValues, residual: residual.map(slot),
                       activation: activation, context: b.context, kind: kind)
        }
    }

    /// An `ai.segslim::Attention` node (SegRewrite's `FuseAttention`: MatMul(Q, Kᵀ) → scale →
    /// Softmax → MatMul(·, V)) on one step that never writes the scores out.
    static func attention(_ node: Node, _ b: PlanBuilder) -> PlanBuilder.Pending? {
        guard node.inputs.count == 3, let final = node.outputs.first, let fd = b.dims(final),
              let qd = b.dims(node.inputs[0]), let kd = b.dims(node.inputs[1]), let vd = b.dims(node.inputs[2]),
              node.inputs.allSatisfy(b.isPlanned), qd.count >= 2, kd.count >= 2, vd.count >= 2,
              let scores = try? MatMulShape(a: qd, b: kd), let context = try? MatMulShape(a: scores.outputDims, b: vd),
              context.outputDims == fd, context.batches == scores.batches,
              context.aIndex.enumerated().allSatisfy({ $0.offset == $0.element }), scores.k >= 1, scores.n >= 1 else { return nil }
        let scale = node[attribute: "scale"]?.floatValue ?? 1
        let (qName, kName, vName) = (node.inputs[0], node.inputs[1], node.inputs[2])
        return .init(reads: [qName, kName, vName], writes: [final], kind: "Attention") { slot in
            AttentionStep(scores: scores, context: context, scale: scale, q: slot(qName), keys: slot(kName), values: slot(vName),
                          output: slot(final), kernelContext: b.context)
        }
    }

    static func gemm(_ node: Node, _ i: Int, _ b: PlanBuilder, _ consumed: inout Set<Int>, out: String, od: [Int]) -> PlanBuilder.Pending? {
        guard node.inputs.count >= 2, node.outputs.count == 1, od.count == 2 else { return nil }
        let (aName, bName) = (node.inputs[0], node.inputs[1])
        guard let (aSource, ad) = source(aName, b), let (bSource, bd) = source(bName, b),
              b.isPlanned(aName) || b.isPlanned(bName), ad.count == 2, bd.count == 2 else { return nil }
        let transA = (node[attribute: "transA"]?.intValue ?? 0) != 0, transB = (node[attribute: "transB"]?.intValue ?? 0) != 0
        let alpha = node[attribute: "alpha"]?.floatValue ?? 1, beta = node[attribute: "beta"]?.floatValue ?? 1
        let m = transA ? ad[1] : ad[0], k = transA ? ad[0] : ad[1]
        let n = transB ? bd[0] : bd[1]
        guard (transB ? bd[1] : bd[0]) == k, od == [m, n], k >= 1 else { return nil }
        var bias: [Float]? = nil, residual: FloatSource? = nil, residualName: String? = nil
        if node.inputs.count > 2, !node.inputs[2].isEmpty, beta != 0 {
            let cName = node.inputs[2]
            if b.isPlanned(cName) {
                guard beta == 1, b.dims(cName) == od else { return nil }
                residual = .slot(slotPlaceholder)
                residualName = cName
            } else {
                guard let c = floats(cName, b), let cd = b.constant(cName)?.dims, let shape = try? BroadcastShape(a: cd, b: od),
                      shape.outputDims == od else { return nil }
                let rows = cd.count == 2 ? cd[0] : 1
                if rows == 1 && c.count == n {
                    bias = c.map { $0 * beta }
                } else {
                    // Any other broadcast: spelled out once as a full M×N constant.
                    let cols = cd.last ?? 1
                    let full = (0..<(m * n)).map { e in c[(rows == 1 ? 0 : e / n) * cols + (cols == 1 ? 0 : e % n)] * beta }
                    residual = .constant(ConstantFloats(full))
                }
            }
        }
        var packed: PackedMatrix? = nil
        if case .constant(let c) = bSource {
            packed = try? PackedMatrix(b: c.pointer, rows: k, columns: n, leadingDimension: transB ? k : n, transposed: transB)
        }
        var writes = out, activation: Activation = .none, kind = "Gemm"
        if let (j, actNode, act) = FastPath.fusableActivation(after: out, from: i, b), let ka = act.kernelActivation, let o = actNode.outputs.first {
            consumed.insert(j)
            activation = ka
            writes = o
            kind += "+act"
        }
        let biasValues = bias.map(ConstantFloats.init)
        let reads = [aName, bName].filter(b.isPlanned) + (residualName.map { [$0] } ?? [])
        return .init(reads: reads, writes: [writes], kind: kind) { [writes] slot in
            GemmStep(m: m, n: n, k: k, a: resolve(aSource, aName, slot), transposeA: transA,
                     b: packed == nil ? resolve(bSource, bName, slot) : nil, transposeB: transB, packedB: packed, alpha: alpha,
                     bias: biasValues, residual: residual.map { resolve($0, residualName ?? "", slot) }, output: slot(writes),
                     activation: activation, context: b.context)
        }
    }

    // MARK: - Normalisations

    static func softmax(_ node: Node, _ b: PlanBuilder, out: String, od: [Int]) -> PlanBuilder.Pending? {
        guard let x = node.inputs.first, b.isPlanned(x), b.dims(x) == od, !od.isEmpty else { return nil }
        let opset = b.model.opsetVersion(for: "") ?? 13
        let rank = od.count
        let raw = node[attribute: "axis"]?.intValue ?? (opset >= 13 ? -1 : 1)
        let axis = raw < 0 ? raw + rank : raw
        guard (0..<rank).contains(axis) else { return nil }
        // Opset 13: one axis (only the last is contiguous); earlier: the axes from `axis` on.
        guard opset < 13 || axis == rank - 1 else { return nil }
        let length = od[axis...].reduce(1, *)
        guard length >= 1 else { return nil }
        return .init(reads: [x], writes: [out], kind: "Softmax") { slot in
            SoftmaxStep(input: slot(x), output: slot(out), length: length, context: b.context)
        }
    }

    static func layerNorm(_ node: Node, _ b: PlanBuilder, out: String, od: [Int]) -> PlanBuilder.Pending? {
        guard node.inputs.count >= 2, let x = node.inputs.first, b.isPlanned(x), b.dims(x) == od, !od.isEmpty,
              onlyFirstOutputUsed(node, b), (node[attribute: "stash_type"]?.intValue ?? 1) == 1 else { return nil }
        let rank = od.count
        let raw = node[attribute: "axis"]?.intValue ?? -1
        let axis = raw < 0 ? raw + rank : raw
        guard (0..<rank).contains(axis) else { return nil }
        let length = od[axis...].reduce(1, *)
        guard length >= 1, let (scale, sd) = source(node.inputs[1], b), sd.reduce(1, *) == length else { return nil }
        var bias: (FloatSource, [Int])? = nil
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            guard let bb = source(node.inputs[2], b), bb.1.reduce(1, *) == length else { return nil }
            bias = bb
        }
        let epsilon = node[attribute: "epsilon"]?.floatValue ?? 1e-5
        let names = Array(node.inputs.prefix(3))
        return .init(reads: names.filter(b.isPlanned), writes: [out], kind: "LayerNormalization") { slot in
            LayerNormStep(input: slot(x), output: slot(out), length: length, scale: resolve(scale, names[1], slot),
                          bias: bias.map { resolve($0.0, names[2], slot) }, epsilon: epsilon, context: b.context)
        }
    }

    // MARK: - Pointwise and data movement

    /// Erf / Gelu / Sqrt, with following Add/Sub/Mul/Div by a scalar constant or a same-shape
    /// value folded in (Erf → +1 → ·x → ·0.5 is exported GELU).
    /// With `scaled`, the input is first multiplied by a scalar: the node at `index` (a Div or
    /// Mul by a constant, before this one) computed `input · scale` and is folded in too.
    static func unary(_ i: Int, _ b: PlanBuilder, _ consumed: inout Set<Int>, out: String, od: [Int],
                      scaled: (index: Int, input: String, scale: Float, kind: String)? = nil) -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.inputs.count == 1, node.outputs.count == 1, let x = scaled?.input ?? node.inputs.first, b.isPlanned(x),
              b.dims(x) == od else { return nil }
        let stepIndex = scaled?.index ?? i, inputScale = scaled?.scale ?? 1
        let operation: UnaryOperation
        switch node.opType {
        case "Erf": operation = .erf
        case "Sqrt": operation = .sqrt
        default:
            switch node[attribute: "approximate"]?.stringValue ?? "none" {
            case "none": operation = .gelu
            case "tanh": operation = .geluTanh
            default: return nil
            }
        }
        return chain(stepIndex: stepIndex, from: i, b, &consumed, operation: operation, input: x, inputScale: inputScale, out: out, od: od,
                     stages: [], kind: (scaled.map { $0.kind + "+" } ?? "") + node.opType)
    }

    /// An `ai.segslim::Gelu` node (SegRewrite's `FuseGelu`: Div(x, c) → Erf → +1 → ·x → ·0.5):
    /// the same pointwise step the exported chain ran on, erf(x/c) with the three stages.
    static func gelu(_ i: Int, _ b: PlanBuilder, _ consumed: inout Set<Int>) -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.inputs.count == 1, let x = node.inputs.first, b.isPlanned(x), let out = node.outputs.first, b.isPlanned(out),
              let od = b.dims(out), b.dims(x) == od, let scale = node[attribute: "scale"]?.floatValue else { return nil }
        let stages: [(PointwiseStep.Stage, String?)] = [
            (.init(operation: .add, operand: .constant(ConstantFloats([1])), scalar: true, operandFirst: false), nil),
            (.init(operation: .mul, operand: .slot(slotPlaceholder), scalar: false, operandFirst: true), x),
            (.init(operation: .mul, operand: .constant(ConstantFloats([0.5])), scalar: true, operandFirst: false), nil),
        ]
        return chain(stepIndex: i, from: i, b, &consumed, operation: .erf, input: x, inputScale: scale, out: out, od: od,
                     stages: stages, kind: "Div+Erf+Add+Mul+Mul")
    }

    /// `operation` on `input` (times `inputScale`) with `stages` applied, then every following
    /// Add/Sub/Mul/Div by a scalar constant or a same-shape value ready before `stepIndex`
    /// folded in too (up to six stages); `last` is the node the chain ends at so far.
    static func chain(stepIndex: Int, from last: Int, _ b: PlanBuilder, _ consumed: inout Set<Int>, operation: UnaryOperation, input x: String,
                      inputScale: Float, out: String, od: [Int], stages preset: [(PointwiseStep.Stage, String?)], kind start: String) -> PlanBuilder.Pending? {
        var stages = preset
        var writes = out, kind = start, last = last
        let ops: [String: ArithmeticOperation] = ["Add": .add, "Sub": .sub, "Mul": .mul, "Div": .div]
        while stages.count < 6, let (j, next) = soleReader(of: writes, after: last, b), let op = ops[next.opType],
              next.inputs.count == 2, b.dims(next.outputs[0]) == od {
            let first = next.inputs[0] == writes
            let other = first ? next.inputs[1] : next.inputs[0]
            if other == writes { break }
            if let s = floats(other, b), s.count == 1 {
                stages.append((.init(operation: op, operand: .constant(ConstantFloats(s)), scalar: true, operandFirst: !first), nil))
            } else if b.isPlanned(other), b.dims(other) == od, ConvPath.availableBefore(other, index: stepIndex, b) {
                stages.append((.init(operation: op, operand: .slot(slotPlaceholder), scalar: false, operandFirst: !first), other))
            } else {
                break
            }
            consumed.insert(j)
            last = j
            writes = next.outputs[0]
            kind += "+" + next.opType
        }
        let reads = [x] + stages.compactMap(\.1)
        return .init(reads: reads, writes: [writes], kind: kind) { [writes] slot in
            let resolved = stages.map { s, name in
                var stage = s
                if let name { stage.operand = .slot(slot(name)) }
                return stage
            }
            return PointwiseStep(operation: operation, inputScale: inputScale, input: slot(x), output: slot(writes), stages: resolved,
                                 context: b.context, kind: kind)
        }
    }

    static func transpose(_ node: Node, _ b: PlanBuilder, out: String, od: [Int]) -> PlanBuilder.Pending? {
        guard let x = node.inputs.first, b.isPlanned(x), let xd = b.dims(x) else { return nil }
        let perm = node[attribute: "perm"]?.intsValue ?? Array((0..<xd.count).reversed())
        guard let plan = try? TransposePlan(dims: xd, permutation: perm), plan.outputDims == od else { return nil }
        return .init(reads: [x], writes: [out], kind: "Transpose") { slot in
            TransposeStep(plan: plan, input: slot(x), output: slot(out), context: b.context)
        }
    }

    /// Add/Sub/Mul/Div/Pow with any NumPy broadcast; constants on either side.
    static func binary(_ i: Int, _ b: PlanBuilder, _ consumed: inout Set<Int>, out: String, od: [Int]) -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.inputs.count == 2, node.outputs.count == 1 else { return nil }
        let (aName, bName) = (node.inputs[0], node.inputs[1])
        let ops: [String: ArithmeticOperation] = ["Add": .add, "Sub": .sub, "Mul": .mul, "Div": .div, "Pow": .pow]
        guard let op = ops[node.opType], b.isPlanned(aName) || b.isPlanned(bName),
              let (aSource, ad) = source(aName, b), let (bSource, bd) = source(bName, b, convert: op == .pow),
              let shape = try? BroadcastShape(a: ad, b: bd), shape.outputDims == od else { return nil }
        // x ÷ c (or x · c) read only by an Erf: the scale moves into the Erf step (exported GELU
        // starts Div(x, √2) → Erf).
        if op == .div || op == .mul, let (j, next) = soleReader(of: out, after: i, b), next.opType == "Erf", b.dims(next.outputs[0]) == od {
            let xIsFirst = b.isPlanned(aName) && ad == od
            let (x, c) = xIsFirst ? (aName, bName) : (bName, aName)
            if op == .mul || xIsFirst, b.isPlanned(x), b.dims(x) == od, let v = floats(c, b), let s = v.first, s != 0, v.allSatisfy({ $0 == s }),
               let step = unary(j, b, &consumed, out: next.outputs[0], od: od, scaled: (i, x, op == .div ? 1 / s : s, node.opType)) {
                consumed.insert(j)
                return step
            }
        }
        var writes = out, activation: Activation = .none, kind = node.opType
        if let (j, actNode, act) = FastPath.fusableActivation(after: out, from: i, b), let ka = act.kernelActivation, let o = actNode.outputs.first {
            consumed.insert(j)
            activation = ka
            writes = o
            kind += "+act"
        }
        return .init(reads: [aName, bName].filter(b.isPlanned), writes: [writes], kind: kind) { [writes] slot in
            BroadcastBinaryStep(operation: op, shape: shape, a: resolve(aSource, aName, slot), b: resolve(bSource, bName, slot),
                                output: slot(writes), activation: activation, context: b.context, kind: kind)
        }
    }
}
