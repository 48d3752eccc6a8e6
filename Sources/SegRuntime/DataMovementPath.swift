import SegGraph
import SegKernels
import SegTensor

/// Pooling, Slice/Gather/Split, reshapes, Concat on any axis, reductions over adjacent axes,
/// InstanceNormalization and inference BatchNormalization on SegKernels, in the arena.
/// Returns nil for a node it has no fast kernel for (the reference implementation runs):
/// anything whose parameters are not constants or whose shapes it does not expect.
enum DataMovementPath {
    static func select(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.domain.isEmpty, let out = node.outputs.first, b.isPlanned(out), let od = b.dims(out),
              let x = node.inputs.first, b.isPlanned(x), let xd = b.dims(x) else { return nil }
        switch node.opType {
        case "MaxPool", "AveragePool":
            return pool(node, b, x: x, xd: xd, out: out, od: od)
        case "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout":
            // Same elements in the same order: a copy (Dropout at inference is the identity;
            // its mask output, if anyone reads it, needs the reference).
            guard node.outputs.dropFirst().allSatisfy({ $0.isEmpty || b.readers[$0, default: 0] == 0 }),
                  xd.reduce(1, *) == od.reduce(1, *) else { return nil }
            if b.canAlias(out, to: x) { return .alias(out, of: x, kind: "Reshape") }
            return .init(reads: [x], writes: [out], kind: "Reshape") { slot in
                CopyStep(input: slot(x), output: slot(out), offset: 0, strides: contiguousStrides(od), context: b.context, kind: "Reshape")
            }
        case "Slice":
            return slice(node, b, x: x, xd: xd, out: out, od: od)
        case "Gather":
            return gather(node, b, x: x, xd: xd, out: out, od: od)
        case "Split":
            return split(node, b, x: x, xd: xd)
        case "Concat":
            return concat(node, b, out: out, od: od)
        case "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin":
            return reduce(node, b, x: x, xd: xd, out: out, od: od)
        case "InstanceNormalization":
            return instanceNorm(node, i, b, &consumed, x: x, xd: xd, out: out)
        case "BatchNormalization":
            return batchNorm(node, i, b, &consumed, x: x, xd: xd, out: out)
        default:
            return nil
        }
    }

    /// Constant integer input `index` of the node (starts, ends, axes, steps, split sizes).
    static func ints(_ node: Node, _ index: Int, _ b: PlanBuilder) -> [Int]? {
        guard index < node.inputs.count, let t = b.constant(node.inputs[index]) else { return nil }
        guard let v = try? t.converted(to: .i64).scalars(as: Int64.self) else { return nil }
        return v.map { Int($0) }
    }

    static func normalizedAxis(_ axis: Int, rank: Int) -> Int? {
        let a = axis < 0 ? axis + rank : axis
        return (0..<rank).contains(a) ? a : nil
    }

    // MARK: Pooling

    /// A 2-D pool node's window on an NCHW input `xd` giving `od`: nil for what the pool
    /// kernels (float and u8) do not run (dilation, indices output, a window of padding only).
    static func poolShape(_ node: Node, xd: [Int], od: [Int]) -> Pool2DShape? {
        guard xd.count == 4, od.count == 4, node.outputs.count == 1 || node.outputs.dropFirst().allSatisfy({ $0.isEmpty }),
              (node[attribute: "storage_order"]?.intValue ?? 0) == 0,
              let window = try? ConvGeometry(node), let kernel = try? window.kernel(rank: 2, fromWeights: nil),
              let axes = try? window.forwardAxes(input: [xd[2], xd[3]], kernel: kernel, dilatedSamePad: false),
              axes.allSatisfy({ $0.dilation == 1 }) else { return nil }
        let pads = [axes[0].padBegin, axes[1].padBegin, axes[0].padEnd, axes[1].padEnd]
        let shape = Pool2DShape(channels: xd[1], height: xd[2], width: xd[3], kernel: (kernel[0], kernel[1]),
                                strides: (axes[0].stride, axes[1].stride), pads: (pads[0], pads[1], pads[2], pads[3]),
                                ceilMode: window.ceilMode)
        // The planned output shape must be what the kernel computes; any disagreement means
        // an attribute this path reads differently from the spec, so leave it to the reference.
        guard shape.outputHeight == od[2], shape.outputWidth == od[3], od[0] == xd[0], od[1] == xd[1],
              pads[0] < kernel[0], pads[2] < kernel[0], pads[1] < kernel[1], pads[3] < kernel[1] else { return nil }
        return shape
    }

    static func pool(_ node: Node, _ b: PlanBuilder, x: String, xd: [Int], out: String, od: [Int]) -> PlanBuilder.Pending? {
        guard let shape = poolShape(node, xd: xd, od: od) else { return nil }
        let kind: PoolKind = node.opType == "MaxPool" ? .max : .average(countIncludePad: (node[attribute: "count_include_pad"]?.intValue ?? 0) != 0)
        return .init(reads: [x], writes: [out], kind: node.opType) { slot in
            PoolStep(pool: kind, shape: shape, input: slot(x), output: slot(out), context: b.context, kind: node.opType)
        }
    }

    // MARK: Slice, Gather, Split, Concat

    static func slice(_ node: Node, _ b: PlanBuilder, x: String, xd: [Int], out: String, od: [Int]) -> PlanBuilder.Pending? {
        let rank = xd.count
        var starts: [Int], ends: [Int], axes: [Int], steps: [Int]
        if node.inputs.count >= 3 {  // opset ≥ 10: inputs
            guard let s = ints(node, 1, b), let e = ints(node, 2, b) else { return nil }
            starts = s; ends = e
            axes = node.inputs.count > 3 && !node.inputs[3].isEmpty ? (ints(node, 3, b) ?? []) : Array(0..<s.count)
            steps = node.inputs.count > 4 && !node.inputs[4].isEmpty ? (ints(node, 4, b) ?? []) : Array(repeating: 1, count: s.count)
        } else {
            guard let s = node[attribute: "starts"]?.intsValue, let e = node[attribute: "ends"]?.intsValue else { return nil }
            starts = s; ends = e
            axes = node[attribute: "axes"]?.intsValue ?? Array(0..<s.count)
            steps = Array(repeating: 1, count: s.count)
        }
        guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else { return nil }
        let inStrides = contiguousStrides(xd)
        var first = [Int](repeating: 0, count: rank), step = [Int](repeating: 1, count: rank), count = xd
        for (k, axis) in axes.enumerated() {
            guard let a = normalizedAxis(axis, rank: rank), steps[k] != 0 else { return nil }
            let n = xd[a], st = steps[k]
            // ONNX clamping: starts/ends in [0, n] for positive steps, [−1, n−1] for negative.
            func clamp(_ v: Int) -> Int {
                let w = v < 0 ? v + n : v
                return st > 0 ? min(max(w, 0), n) : min(max(w, -1), n - 1)
            }
            let s = clamp(starts[k]), e = clamp(ends[k])
            first[a] = s
            step[a] = st
            count[a] = st > 0 ? max(0, (e - s + st - 1) / st) : max(0, (s - e + (-st) - 1) / (-st))
        }
        guard count == od else { return nil }
        let offset = zip(first, inStrides).reduce(0) { $0 + $1.0 * $1.1 }
        let strides = zip(step, inStrides).map { $0 * $1 }
        return .init(reads: [x], writes: [out], kind: "Slice") { slot in
            CopyStep(input: slot(x), output: slot(out), offset: offset, strides: strides, context: b.context, kind: "Slice")
        }
    }

    static func gather(_ node: Node, _ b: PlanBuilder, x: String, xd: [Int], out: String, od: [Int]) -> PlanBuilder.Pending? {
        guard node.inputs.count == 2, let indicesTensor = b.constant(node.inputs[1]), let indices = ints(node, 1, b),
              let axis = normalizedAxis(node[attribute: "axis"]?.intValue ?? 0, rank: xd.count) else { return nil }
        let n = xd[axis]
        let fixed = indices.map { $0 < 0 ? $0 + n : $0 }
        guard fixed.allSatisfy({ (0..<n).contains($0) }) else { return nil }  // the reference names the bad index
        let expected = Array(xd[..<axis]) + indicesTensor.dims + Array(xd[(axis + 1)...])
        guard expected == od else { return nil }
        let outer = xd[..<axis].reduce(1, *), inner = xd[(axis + 1)...].reduce(1, *)
        return .init(reads: [x], writes: [out], kind: "Gather") { slot in
            GatherStep(input: slot(x), output: slot(out), indices: fixed, outer: outer, axisLength: n, inner: inner)
        }
    }

    static func split(_ node: Node, _ b: PlanBuilder, x: String, xd: [Int]) -> PlanBuilder.Pending? {
        let outs = node.outputs
        guard !outs.isEmpty, outs.allSatisfy(b.isPlanned),
              let axis = normalizedAxis(node[attribute: "axis"]?.intValue ?? 0, rank: xd.count) else { return nil }
        let outDims = outs.compactMap { b.dims($0) }
        guard outDims.count == outs.count, outDims.map({ $0[axis] }).reduce(0, +) == xd[axis] else { return nil }
        let inStrides = contiguousStrides(xd)
        var pieces: [SplitStep.Piece] = []
        var start = 0
        for d in outDims {
            guard d.count == xd.count else { return nil }
            pieces.append(.init(offset: start * inStrides[axis], dims: d, strides: inStrides))
            start += d[axis]
        }
        return .init(reads: [x], writes: outs, kind: "Split") { slot in
            SplitStep(input: slot(x), outputs: outs.map(slot), pieces: pieces, context: b.context)
        }
    }

    /// Concat on any axis: per input, an [outer, block] copy into its column of the output.
    /// Inputs are arena values or f32 constants (copied once at compile time).
    static func concat(_ node: Node, _ b: PlanBuilder, out: String, od: [Int]) -> PlanBuilder.Pending? {
        let inputs = node.inputs
        guard !inputs.isEmpty, let axis = normalizedAxis(node[attribute: "axis"]?.intValue ?? 0, rank: od.count) else { return nil }
        var sources: [(name: String, constant: ConstantFloats?)] = []
        var dims: [[Int]] = []
        for name in inputs {
            if b.isPlanned(name), let d = b.dims(name) {
                sources.append((name, nil)); dims.append(d)
            } else if let c = b.constant(name), c.dtype == .f32, let values = try? c.scalars(as: Float.self) {
                sources.append((name, ConstantFloats(values))); dims.append(c.dims)
            } else {
                return nil
            }
        }
        guard dims.allSatisfy({ $0.count == od.count }), dims.map({ $0[axis] }).reduce(0, +) == od[axis] else { return nil }
        let blocks = dims.map { $0[axis...].reduce(1, *) }
        let outer = od[..<axis].reduce(1, *)
        let reads = sources.filter { $0.constant == nil }.map(\.name)
        return .init(reads: reads, writes: [out], kind: "Concat") { slot in
            ConcatStep(inputs: sources.map { $0.constant.map(FloatSource.constant) ?? .slot(slot($0.name)) },
                       output: slot(out), blocks: blocks, batches: outer, context: b.context)
        }
    }

    // MARK: Reductions and normalisations

    static func reduce(_ node: Node, _ b: PlanBuilder, x: String, xd: [Int], out: String, od: [Int]) -> PlanBuilder.Pending? {
        let rank = xd.count
        var axes: [Int]
        if let attr = node[attribute: "axes"]?.intsValue {
            axes = attr
        } else if node.inputs.count > 1, !node.inputs[1].isEmpty {
            guard let v = ints(node, 1, b) else { return nil }
            axes = v
        } else {
            axes = []
        }
        if axes.isEmpty {
            if (node[attribute: "noop_with_empty_axes"]?.intValue ?? 0) != 0 { return nil }
            axes = Array(0..<rank)
        }
        let normalized = axes.compactMap { normalizedAxis($0, rank: rank) }
        guard normalized.count == axes.count, let lo = normalized.min(), let hi = normalized.max(),
              Set(normalized).count == hi - lo + 1 else { return nil }  // adjacent axes only
        let outer = xd[..<lo].reduce(1, *), reduced = xd[lo...hi].reduce(1, *), inner = xd[(hi + 1)...].reduce(1, *)
        // An empty tensor (a zero-sized kept axis) is the reference's to run: the kernel
        // takes at least one row.
        guard outer * inner == od.reduce(1, *), reduced >= 1, outer >= 1, inner >= 1 else { return nil }
        let op: ReduceOperation = ["ReduceSum": .sum, "ReduceMean": .mean, "ReduceMax": .max, "ReduceMin": .min][node.opType] ?? .sum
        return .init(reads: [x], writes: [out], kind: node.opType) { slot in
            ReduceStep(operation: op, input: slot(x), output: slot(out), outer: outer, reduced: reduced, inner: inner,
                       context: b.context, kind: node.opType)
        }
    }

    static func instanceNorm(_ node: Node, _ i: Int, _ b: PlanBuilder, _ consumed: inout Set<Int>, x: String, xd: [Int], out: String) -> PlanBuilder.Pending? {
        guard xd.count >= 3, node.inputs.count == 3,
              let scale = b.constant(node.inputs[1]).flatMap({ try? $0.converted(to: .f32).scalars(as: Float.self) }),
              let bias = b.constant(node.inputs[2]).flatMap({ try? $0.converted(to: .f32).scalars(as: Float.self) }),
              scale.count == xd[1], bias.count == xd[1] else { return nil }
        let epsilon = node[attribute: "epsilon"]?.floatValue ?? 1e-5
        let (writes, activation, kind) = fuse(out, after: i, b, &consumed, base: "InstanceNormalization")
        return .init(reads: [x], writes: [writes], kind: kind) { slot in
            InstanceNormStep(input: slot(x), output: slot(writes), scale: ConstantFloats(scale), bias: ConstantFloats(bias), epsilon: epsilon,
                             activation: activation, context: b.context, kind: kind)
        }
    }

    static func batchNorm(_ node: Node, _ i: Int, _ b: PlanBuilder, _ consumed: inout Set<Int>, x: String, xd: [Int], out: String) -> PlanBuilder.Pending? {
        guard xd.count >= 2, node.inputs.count == 5, (node[attribute: "training_mode"]?.intValue ?? 0) == 0,
              node.outputs.dropFirst().allSatisfy({ $0.isEmpty || b.readers[$0, default: 0] == 0 }) else { return nil }
        let vectors = node.inputs[1...4].map { b.constant($0).flatMap { try? $0.converted(to: .f32).scalars(as: Float.self) } }
        guard vectors.allSatisfy({ $0?.count == xd[1] }) else { return nil }
        let gamma = vectors[0] ?? [], beta = vectors[1] ?? [], mean = vectors[2] ?? [], variance = vectors[3] ?? []
        let epsilon = node[attribute: "epsilon"]?.floatValue ?? 1e-5
        // Folded once here: y = x·a + (β − μ·a), a = γ/√(σ² + ε).
        let scale = (0..<xd[1]).map { gamma[$0] / (variance[$0] + epsilon).squareRoot() }
        let shift = (0..<xd[1]).map { beta[$0] - mean[$0] * scale[$0] }
        let (writes, activation, kind) = fuse(out, after: i, b, &consumed, base: "BatchNormalization")
        return .init(reads: [x], writes: [writes], kind: kind) { slot in
            ChannelAffineStep(input: slot(x), output: slot(writes), scale: ConstantFloats(scale), shift: ConstantFloats(shift), activation: activation,
                              context: b.context, kind: kind)
        }
    }

    /// A following activation with a SegKernels form, folded into the step.
    static func fuse(_ out: String, after i: Int, _ b: PlanBuilder, _ consumed: inout Set<Int>, base: String) -> (String, Activation, String) {
        if let (j, n, act) = FastPath.fusableActivation(after: out, from: i, b), let k = act.kernelActivation, let o = n.outputs.first {
            consumed.insert(j)
            return (o, k, base + "+act")
        }
        return (out, .none, base)
    }
}
