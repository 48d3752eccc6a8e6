import SegGraph
import SegKernels
import SegReference
import SegRewrite
import SegTensor

/// Picks a fast kernel for a node (fusing the activation that follows it where it is the
/// only reader), or nil to fall back to the reference implementation.
enum FastPath {
    static func activation(_ node: Node, _ b: PlanBuilder) -> FastActivation? {
        guard node.domain.isEmpty else { return nil }
        switch node.opType {
        case "Relu": return .relu
        case "HardSwish": return .hardSwish
        case "Sigmoid": return .sigmoid
        case "HardSigmoid":
            return .hardSigmoid(alpha: node[attribute: "alpha"]?.floatValue ?? 0.2, beta: node[attribute: "beta"]?.floatValue ?? 0.5)
        case "LeakyRelu": return .leakyRelu(node[attribute: "alpha"]?.floatValue ?? 0.01)
        case "Clip":
            // Opset ≥ 11: min/max inputs (constants); older: attributes.
            func value(_ i: Int) -> Float?? {
                guard i < node.inputs.count, !node.inputs[i].isEmpty else { return .some(nil) }
                guard let t = b.constant(node.inputs[i]), t.elementCount == 1, let v = try? t.converted(to: .f32).scalars(as: Float.self).first else { return nil }
                return .some(v)
            }
            guard let lo = value(1), let hi = value(2) else { return nil }
            let minV = lo ?? node[attribute: "min"]?.floatValue ?? -Float.greatestFiniteMagnitude
            let maxV = hi ?? node[attribute: "max"]?.floatValue ?? Float.greatestFiniteMagnitude
            return .clip(minV, maxV)
        default: return nil
        }
    }

    /// The single node reading `value`, when it is a fusable activation (and `value` is not a
    /// graph output).
    static func fusableActivation(after value: String, from index: Int, _ b: PlanBuilder) -> (Int, Node, FastActivation)? {
        guard b.readers[value] == 1, !b.isGraphOutput(value) else { return nil }
        for j in (index + 1)..<b.nodes.count where b.nodes[j].inputs.contains(value) {
            let n = b.nodes[j]
            guard n.inputs.first == value, let out = n.outputs.first, b.isPlanned(out), let act = activation(n, b) else { return nil }
            return (j, n, act)
        }
        return nil
    }

    static func select(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        if node.opType == "QuantizeLinear" || node.opType == "DequantizeLinear" {
            return try QuantPath.select(i, in: b, consumed: &consumed)
        }
        if FusedOps.isFused(node, FusedOps.fusedConv) { return try ConvPath.select(node, in: b) }
        guard node.domain.isEmpty, let out = node.outputs.first, b.isPlanned(out) else { return nil }
        let inputs = node.inputs

        if let act = activation(node, b), let x = inputs.first, b.isPlanned(x) {
            return .init(reads: [x], writes: [out], kind: node.opType) { slot in
                ActivationStep(input: slot(x), output: slot(out), activation: act, kind: node.opType)
            }
        }

        switch node.opType {
        case "Add", "Sub", "Mul", "Div":
            guard inputs.count == 2, node.outputs.count == 1, let outDims = b.dims(out) else { return nil }
            // Sub/Div have no SegKernels loop below (BinaryStep is scalar): the tensor-ops
            // path's vectorised broadcast (and its folds into a following Erf) first.
            if node.opType == "Sub" || node.opType == "Div", let p = try TensorOpsPath.select(i, in: b, consumed: &consumed) { return p }
            let op: BinaryStep.Op = ["Add": .add, "Sub": .sub, "Mul": .mul, "Div": .div][node.opType] ?? .add
            // The full-size operand is `a`; the other may be smaller (broadcast) or constant.
            var (aName, bName, swapped) = (inputs[0], inputs[1], false)
            if b.dims(aName) != outDims { (aName, bName, swapped) = (inputs[1], inputs[0], true) }
            guard b.isPlanned(aName), b.dims(aName) == outDims else { return try TensorOpsPath.select(i, in: b, consumed: &consumed) }
            let bConst = b.constant(bName)
            guard b.isPlanned(bName) || bConst?.dtype == .f32 else { return nil }
            let bDims = b.isPlanned(bName) ? (b.dims(bName) ?? []) : (bConst?.dims ?? [])
            let bCount = bDims.reduce(1, *)
            let shape: BinaryStep.Shape
            if bDims == outDims {
                shape = .same
            } else if bCount == 1 {
                shape = .scalar
            } else if outDims.count == 4, (bDims.count == 4 || bDims.count == 3),
                      bDims.suffix(2).allSatisfy({ $0 == 1 }), bDims[bDims.count - 3] == outDims[1],
                      bDims.count == 3 || bDims[0] == 1 || bDims[0] == outDims[0] {
                shape = .perChannel(channels: outDims[1], plane: outDims[2] * outDims[3])
            } else {
                // Any other NumPy broadcast (transformer-style [1,N,C] + [C], attention masks).
                return try TensorOpsPath.select(i, in: b, consumed: &consumed)
            }
            let values = bConst.flatMap { try? $0.scalars(as: Float.self) } ?? []
            var fused: FastActivation? = nil
            var writes = out
            if let (j, actNode, act) = fusableActivation(after: out, from: i, b), let actOut = actNode.outputs.first {
                consumed.insert(j)
                fused = act
                writes = actOut
            }
            let kind = node.opType + (fused != nil ? "+act" : "")
            let reads = [aName] + (b.isPlanned(bName) ? [bName] : [])
            // Both operands in the arena, Add or Mul: SegKernels' vectorised, threaded loops.
            if b.isPlanned(bName), op == .add || op == .mul, fused.map({ $0.kernelActivation != nil }) ?? true {
                let kernelBroadcast: SegKernels.Broadcast
                switch shape {
                case .same: kernelBroadcast = .none
                case .scalar: kernelBroadcast = .scalar
                case .perChannel: kernelBroadcast = bCount == outDims[1] ? .channel : .imageChannel
                }
                let (n, c, plane) = outDims.count == 4 ? (outDims[0], outDims[1], outDims[2] * outDims[3]) : (1, 1, outDims.reduce(1, *))
                let activation = fused?.kernelActivation ?? .none
                return .init(reads: reads, writes: [writes], kind: kind) { [writes] slot in
                    KernelBinaryStep(operation: op == .add ? .add : .multiply, a: slot(aName), b: slot(bName), output: slot(writes),
                                     broadcast: kernelBroadcast, batch: n, channels: c, plane: plane, activation: activation,
                                     context: b.context, kind: kind)
                }
            }
            return .init(reads: reads, writes: [writes], kind: kind) { [writes] slot in
                BinaryStep(a: slot(aName), b: b.isPlanned(bName) ? slot(bName) : nil, bValues: values, output: slot(writes),
                           op: op, shape: shape, swapped: swapped, activation: fused, kind: kind)
            }

        case "GlobalAveragePool":
            guard let x = inputs.first, b.isPlanned(x), let d = b.dims(x), d.count == 4 else { return nil }
            return .init(reads: [x], writes: [out], kind: "GlobalAveragePool") { slot in
                KernelGlobalPoolStep(input: slot(x), output: slot(out), context: b.context)
            }

        case "Concat":
            guard let od = b.dims(out) else { return nil }
            return DataMovementPath.concat(node, b, out: out, od: od)

        case "Conv":
            return try ConvPath.select(node, in: b)
        case "Resize", "Upsample":
            return ResizePath.select(node, in: b)
        case "ConvTranspose":
            return try ConvTransposePath.select(i, in: b, consumed: &consumed)
        case "MatMul", "Gemm", "Softmax", "LayerNormalization", "Erf", "Gelu", "Transpose", "Pow", "Sqrt":
            return try TensorOpsPath.select(i, in: b, consumed: &consumed)
        default:
            return try DataMovementPath.select(i, in: b, consumed: &consumed)
        }
    }
}

