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

    /// The (H, W) axes from the shared `ConvTransposeGeometry`, nil for anything malformed or
    /// with an empty output (the reference then reports or runs it).
    static func axes(_ node: Node, input: (Int, Int), kernel: (Int, Int)) -> (SpatialAxis, SpatialAxis)? {
        guard let geometry = try? ConvTransposeGeometry(node),
              let k = try? geometry.window.kernel(rank: 2, fromWeights: [kernel.0, kernel.1]),
              let axes = try? geometry.axes(input: [input.0, input.1], kernel: k),
              axes.allSatisfy({ $0.output >= 1 }) else { return nil }
        return (axes[0], axes[1])
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
