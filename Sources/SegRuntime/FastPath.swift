import SegGraph
import SegKernels
import SegReference
import SegRewrite
import SegTensor

/// The float kernels of the activations, the elementwise binaries (with the activation that
/// follows where it is the only reader), global pooling and Concat, as `KernelTable` builders.
enum FastPath {
    /// The activation `node` computes: SegRewrite's `EpilogueActivation` list (the one the conv
    /// fusion reads) plus LeakyRelu, which the elementwise steps apply but conv epilogues do not.
    static func activation(_ node: Node, _ b: PlanBuilder) -> FastActivation? {
        guard node.domain.isEmpty else { return nil }
        if node.opType == "LeakyRelu" { return .leakyRelu(node[attribute: "alpha"]?.floatValue ?? 0.01) }
        switch EpilogueActivation(node: node, constant: b.constant) {
        case .relu: return .relu
        case .sigmoid: return .sigmoid
        case .hardSwish: return .hardSwish
        case .hardSigmoid(let alpha, let beta): return .hardSigmoid(alpha: alpha, beta: beta)
        case .clip(let lo, let hi): return .clip(lo, hi)
        case nil: return nil
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

    /// A standalone activation on one vectorised step.
    static func activationStep(_ node: Node, _ b: PlanBuilder) -> PlanBuilder.Pending? {
        guard let out = node.outputs.first, let act = activation(node, b), let x = node.inputs.first, b.isPlanned(x) else { return nil }
        return .init(reads: [x], writes: [out], kind: node.opType) { slot in
            ActivationStep(input: slot(x), output: slot(out), activation: act, kind: node.opType)
        }
    }

    /// Add/Sub/Mul/Div on SegKernels' loops (full-size operand, same-shape, scalar or
    /// per-channel other), with a following activation; other broadcasts on the tensor-ops path.
    static func binary(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard let out = node.outputs.first else { return nil }
        let inputs = node.inputs
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
                       op: op, shape: shape, swapped: swapped, activation: fused, context: b.context, kind: kind)
        }
    }

    static func globalPool(_ node: Node, _ b: PlanBuilder) -> PlanBuilder.Pending? {
        guard let out = node.outputs.first, let x = node.inputs.first, b.isPlanned(x), let d = b.dims(x), d.count == 4 else { return nil }
        return .init(reads: [x], writes: [out], kind: "GlobalAveragePool") { slot in
            KernelGlobalPoolStep(input: slot(x), output: slot(out), context: b.context)
        }
    }

    static func concat(_ node: Node, _ b: PlanBuilder) -> PlanBuilder.Pending? {
        guard let out = node.outputs.first, let od = b.dims(out) else { return nil }
        return DataMovementPath.concat(node, b, out: out, od: od)
    }
}
