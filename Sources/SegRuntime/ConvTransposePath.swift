import SegGraph
import SegKernels
import SegTensor

/// 2-D ConvTranspose with constant weights on SegKernels' `ConvTranspose2D` (pre-packed
/// weights, one GEMM per band of rows, then col2im), with the bias and a following activation
/// fused in. Returns nil for a node it has no fast kernel for (the reference implementation
/// runs): non-constant weights, other ranks, attributes it does not understand.
enum ConvTransposePath {
    static func select(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.inputs.count >= 2, node.outputs.count == 1, let x = node.inputs.first, b.isPlanned(x),
              let xd = b.dims(x), xd.count == 4,
              let w = b.constant(node.inputs[1]), w.dtype == .f32, w.dims.count == 4,
              let out = node.outputs.first, let od = b.dims(out), od.count == 4 else { return nil }
        let group = node[attribute: "group"]?.intValue ?? 1
        guard group >= 1, xd[1] == w.dims[0], xd[1] % group == 0, od[0] == xd[0], od[1] == w.dims[1] * group else { return nil }
        var bias: [Float]? = nil
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            guard let bt = b.constant(node.inputs[2]), bt.dtype == .f32, bt.elementCount == od[1] else { return nil }
            bias = try bt.scalars(as: Float.self)
        }
        guard let axes = Self.axes(node, input: (xd[2], xd[3]), kernel: (w.dims[2], w.dims[3])),
              axes.0.output == od[2], axes.1.output == od[3] else { return nil }
        var shape = ConvTranspose2DShape(inputChannels: xd[1], height: xd[2], width: xd[3], outputChannels: od[1],
                                         kernelH: w.dims[2], kernelW: w.dims[3], strides: (axes.0.stride, axes.1.stride),
                                         pads: (axes.0.padBegin, axes.1.padBegin, 0, 0),
                                         dilations: (axes.0.dilation, axes.1.dilation), groups: group)
        shape.outputHeight = od[2]
        shape.outputWidth = od[3]

        var writes = out
        var activation: Activation = .none
        var kind = "ConvTranspose"
        if let (k, act, fa) = FastPath.fusableActivation(after: out, from: i, b), let ka = fa.kernelActivation, let actOut = act.outputs.first {
            consumed.insert(k)
            activation = ka
            writes = actOut
            kind += "+act"
        }
        let weights = try w.scalars(as: Float.self)
        let kernel: ConvTranspose2D = try weights.withUnsafeBufferPointer { wp in
            guard let wBase = wp.baseAddress else { throw KernelError.invalidParameter("weights", value: "empty", requirement: "non-empty") }
            if let bias {
                return try bias.withUnsafeBufferPointer { bp in
                    try ConvTranspose2D(shape: shape, weights: wBase, bias: bp.baseAddress, activation: activation)
                }
            }
            return try ConvTranspose2D(shape: shape, weights: wBase, bias: nil, activation: activation)
        }
        let batch = xd[0]
        return .init(reads: [x], writes: [writes], kind: kind) { [writes] slot in
            ConvTransposeStep(kernel: kernel, input: slot(x), output: slot(writes), batch: batch, context: b.context, kind: kind)
        }
    }

    struct Axis: Equatable {
        var stride: Int, dilation: Int, padBegin: Int, output: Int
    }

    /// Per spatial axis (H, W): stride, dilation, leading pad and output size, as the reference
    /// `ConvTransposePlan` (and ORT) derive them: an explicit `output_shape`, or SAME_* asking
    /// for `in · stride`, fixes the total padding, split with the odd unit at the start except
    /// for SAME_UPPER. Nil for anything malformed or unusual (the reference then reports it).
    static func axes(_ node: Node, input: (Int, Int), kernel: (Int, Int)) -> (Axis, Axis)? {
        func list(_ name: String, _ count: Int, default value: Int, minimum: Int) -> [Int]? {
            guard let attribute = node[attribute: name] else { return [Int](repeating: value, count: count) }
            guard let v = attribute.intsValue, v.count == count, v.allSatisfy({ $0 >= minimum }) else { return nil }
            return v
        }
        let autoPad = node[attribute: "auto_pad"].map { $0.stringValue } ?? "NOTSET"
        guard let autoPad, ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"].contains(autoPad),
              let strides = list("strides", 2, default: 1, minimum: 1), let dilations = list("dilations", 2, default: 1, minimum: 1),
              let pads = list("pads", 4, default: 0, minimum: 0), let adjust = list("output_padding", 2, default: 0, minimum: 0),
              let kernelShape = list("kernel_shape", 2, default: 0, minimum: 0) else { return nil }
        if node[attribute: "kernel_shape"] != nil, kernelShape != [kernel.0, kernel.1] { return nil }
        var outputShape: [Int]? = nil
        if let attribute = node[attribute: "output_shape"] {
            guard let v = attribute.intsValue, v.count == 2 || v.count == 4, v.allSatisfy({ $0 >= 1 }) else { return nil }
            outputShape = Array(v.suffix(2))
        }
        let inputs = [input.0, input.1], kernels = [kernel.0, kernel.1]
        var result: [Axis] = []
        for a in 0..<2 {
            let span = (kernels[a] - 1) * dilations[a] + 1
            let natural = (inputs[a] - 1) * strides[a] + adjust[a] + span
            var padBegin = pads[a], padEnd = pads[a + 2]
            if let target = outputShape?[a] ?? (autoPad.hasPrefix("SAME") ? inputs[a] * strides[a] : nil) {
                var total = natural - target
                if total < 0 && outputShape != nil {
                    guard target >= span, (target - span) / strides[a] + 1 == inputs[a] else { return nil }
                    padBegin = 0
                    padEnd = total
                } else {
                    total = max(0, total)
                    padBegin = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
                    padEnd = total - padBegin
                }
            } else if autoPad == "VALID" {
                padBegin = 0
                padEnd = 0
            }
            let output = natural - padBegin - padEnd
            guard output >= 1 else { return nil }
            result.append(Axis(stride: strides[a], dilation: dilations[a], padBegin: padBegin, output: output))
        }
        return (result[0], result[1])
    }
}

/// A 2-D transposed convolution with pre-packed weights and fused bias and activation.
struct ConvTransposeStep: Step {
    let kernel: ConvTranspose2D
    let input: Slot
    let output: Slot
    let batch: Int
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        try kernel.run(input: arena.pointer(input), batch: batch, output: arena.pointer(output), context: context)
    }
}
