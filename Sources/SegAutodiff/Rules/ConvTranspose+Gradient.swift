import SegGraph
import SegKernels

/// ConvTranspose (2-D: groups, strides, pads, output_padding, output_shape, dilations,
/// auto_pad) on SegKernels. ConvTranspose is the adjoint of a Conv whose input is the
/// transposed conv's output: `adjoint` below is that Conv (input Cout × outH × outW, output
/// Cin × H × W, the same weights read as [Cin, Cout/g, kH, kW] = Conv's [out, in/g, kH, kW]).
/// So, with that Conv's kernels:
/// - forward: the inference `ConvTranspose2D` (weights packed afresh each step);
/// - dX = Conv forward of dY with W (`Conv2D` on `adjoint`);
/// - dW: `conv2DBackwardFilter(adjoint)` with the roles swapped: the Conv's input is dY and
///   its output gradient is X, which gives Σ x[ci, iy, ix]·dY[co, iy·s − p + ky·d, …] (im2col of
///   dY and one GEMM per image and group);
/// - dB = Σ dY over N, H, W.
/// The adjoint Conv gives back H rows exactly when output_padding < stride (per axis); larger
/// output_padding, and an output_shape beyond the natural size (negative end pads), are refused.
enum ConvTransposeGradients {
    static let all = [GradientRule("ConvTranspose") { ctx throws(AutodiffError) in try ConvTransposeStep(ctx) }]
}

final class ConvTransposeStep: DifferentiableStep {
    let label: String
    let shape: ConvTranspose2DShape
    let adjoint: Conv2DShape
    let batch: Int
    let hasBias: Bool
    let fixed: [[Float]?]
    let context: KernelContext
    private var saved: (x: FloatTensor, weights: [Float])?

    init(_ ctx: RuleContext) throws(AutodiffError) {
        label = ctx.label
        context = ctx.kernels
        let x = try ctx.inputShape(0), w = try ctx.inputShape(1)
        guard x.count == 4, w.count == 4 else { throw ctx.error("only 2-D transposed convolutions (4-D input and weights) train; input is \(x.count)-D") }
        let groups = try ctx.attribute { try $0.int("group", default: 1) }
        guard groups >= 1, w[0] == x[1], x[1] % groups == 0 else {
            throw ctx.error("group \(groups) does not fit input channels \(x[1]) and weights \(w)")
        }
        let axes: [SpatialAxis], adjust: [Int]
        do {
            let geometry = try ConvTransposeGeometry(ctx.node)
            let kernel = try geometry.window.kernel(rank: 2, fromWeights: Array(w[2...]))
            axes = try geometry.axes(input: Array(x[2...]), kernel: kernel)
            adjust = geometry.outputPadding ?? [0, 0]
        } catch {
            throw ctx.error("\(error)")
        }
        for (i, axis) in axes.enumerated() {
            guard axis.padEnd >= 0 else { throw ctx.error("output_shape beyond the natural output size is not supported for training") }
            guard adjust[i] < axis.stride else { throw ctx.error("output_padding \(adjust[i]) must be smaller than the stride \(axis.stride) to train") }
        }
        let outputChannels = w[1] * groups
        shape = ConvTranspose2DShape(inputChannels: x[1], height: x[2], width: x[3], outputChannels: outputChannels,
                                     kernelH: axes[0].kernel, kernelW: axes[1].kernel, strides: (axes[0].stride, axes[1].stride),
                                     pads: (axes[0].padBegin, axes[1].padBegin, axes[0].padEnd, axes[1].padEnd),
                                     outputPadding: (adjust[0], adjust[1]), dilations: (axes[0].dilation, axes[1].dilation), groups: groups)
        adjoint = Conv2DShape(inputChannels: outputChannels, height: shape.outputHeight, width: shape.outputWidth, outputChannels: x[1],
                              kernelH: shape.kernelH, kernelW: shape.kernelW, strides: (shape.strideH, shape.strideW),
                              pads: (axes[0].padBegin, axes[1].padBegin, axes[0].padEnd, axes[1].padEnd),
                              dilations: (shape.dilationH, shape.dilationW), groups: groups)
        guard shape.outputHeight == axes[0].output, shape.outputWidth == axes[1].output,
              adjoint.outputHeight == x[2], adjoint.outputWidth == x[3] else {
            throw ctx.error("output size \(axes.map(\.output)) does not invert to the input \(Array(x[2...])); check pads and output_padding")
        }
        if let inferred = ctx.outputShapes.first ?? nil, inferred != [x[0], outputChannels, shape.outputHeight, shape.outputWidth] {
            throw ctx.error("output shape disagrees with shape inference's \(inferred)")
        }
        batch = x[0]
        hasBias = ctx.node.inputs.count > 2 && !ctx.node.inputs[2].isEmpty
        fixed = [nil, try ctx.constantFloats(1), try ctx.constantFloats(2)]
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        guard let weights = inputs[1]?.scalars ?? fixed[1] else { throw .node(label, "weights are missing") }
        let bias = hasBias ? (inputs.count > 2 ? inputs[2]?.scalars : nil) ?? fixed[2] : nil
        var y = FloatTensor(zeros: [batch, shape.outputChannels, shape.outputHeight, shape.outputWidth])
        do {
            let kernel = try weights.withUnsafeBufferPointer { w throws(KernelError) in
                try withOptionalPointer(bias) { b throws(KernelError) in try ConvTranspose2D(shape: shape, weights: w.baseAddress!, bias: b) }
            }
            try x.scalars.withUnsafeBufferPointer { xp throws(KernelError) in
                try y.scalars.withUnsafeMutableBufferPointer { yp throws(KernelError) in
                    try kernel.run(input: xp.baseAddress!, batch: batch, output: yp.baseAddress!, context: context)
                }
            }
        } catch {
            throw .node(label, "\(error)")
        }
        saved = (x, weights)
        return [y]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard let dy = outputGradients[0] else { return grads }
        guard let saved else { throw .node(label, "backward before forward") }
        let adjoint = adjoint, batch = batch, context = context
        do {
            if wanted[0] {
                var dx = FloatTensor(zeros: saved.x.dims)
                let conv = try saved.weights.withUnsafeBufferPointer { w throws(KernelError) in
                    try Conv2D(shape: adjoint, weights: w.baseAddress!, bias: nil, options: context.options)
                }
                try dy.scalars.withUnsafeBufferPointer { g throws(KernelError) in
                    try dx.scalars.withUnsafeMutableBufferPointer { d throws(KernelError) in
                        try conv.run(input: g.baseAddress!, batch: batch, output: d.baseAddress!, context: context)
                    }
                }
                grads[0] = dx
            }
            let wantW = wanted.count > 1 && wanted[1], wantB = wanted.count > 2 && wanted[2]
            if wantW {
                var dw = [Float](repeating: 0, count: saved.weights.count)
                try dy.scalars.withUnsafeBufferPointer { g throws(KernelError) in
                    try saved.x.scalars.withUnsafeBufferPointer { xp throws(KernelError) in
                        try dw.withUnsafeMutableBufferPointer { d throws(KernelError) in
                            try conv2DBackwardFilter(adjoint, batch: batch, input: g.baseAddress!, outputGradient: xp.baseAddress!,
                                                     weightGradient: d.baseAddress!, biasGradient: nil, context: context)
                        }
                    }
                }
                grads[1] = FloatTensor(dims: [shape.inputChannels, shape.outputChannels / shape.groups, shape.kernelH, shape.kernelW], scalars: dw)
            }
            if wantB {
                let channels = shape.outputChannels, plane = shape.outputHeight * shape.outputWidth
                var db = [Float](repeating: 0, count: channels)
                for n in 0..<batch {
                    for c in 0..<channels {
                        let base = (n * channels + c) * plane
                        var s: Float = 0
                        for i in base..<(base + plane) { s += dy.scalars[i] }
                        db[c] += s
                    }
                }
                grads[2] = FloatTensor(dims: [channels], scalars: db)
            }
        } catch {
            throw .node(label, "\(error)")
        }
        return grads
    }

    func release() { saved = nil }
}
