import SegGraph
import SegKernels

/// Conv (2-D: grouped, depthwise, dilated, strided, padded, auto_pad) on SegKernels: the
/// forward is the inference kernel with this step's weights packed afresh (they change every
/// step), the backward is `conv2DBackwardData` / `conv2DBackwardFilter`.
enum ConvGradients {
    static let all = [GradientRule("Conv") { ctx throws(AutodiffError) in try ConvStep(ctx) }]
}

final class ConvStep: DifferentiableStep {
    let label: String
    let shape: Conv2DShape
    let batch: Int
    let context: KernelContext
    /// Static weights/bias (frozen), read once.
    let fixedWeights: [Float]?
    let fixedBias: [Float]?
    let hasBias: Bool
    private var savedInput: FloatTensor?
    private var savedWeights: [Float]?

    init(_ ctx: RuleContext) throws(AutodiffError) {
        label = ctx.label
        context = ctx.kernels
        let x = try ctx.inputShape(0), w = try ctx.inputShape(1)
        guard x.count == 4, w.count == 4 else {
            throw ctx.error("only 2-D convolutions (4-D input and weights) train; input is \(x.count)-D")
        }
        let geometry: ConvGeometry
        let axes: [SpatialAxis]
        do {
            geometry = try ConvGeometry(ctx.node)
            let kernel = try geometry.kernel(rank: 2, fromWeights: Array(w[2...]))
            axes = try geometry.forwardAxes(input: Array(x[2...]), kernel: kernel)
        } catch {
            throw ctx.error("\(error)")
        }
        let groups = try ctx.attribute { try $0.int("group", default: 1) }
        guard groups >= 1, x[1] % groups == 0, w[0] % groups == 0, w[1] * groups == x[1] else {
            throw ctx.error("group \(groups) does not fit input channels \(x[1]) and weights \(w)")
        }
        shape = Conv2DShape(inputChannels: x[1], height: x[2], width: x[3], outputChannels: w[0],
                            kernelH: axes[0].kernel, kernelW: axes[1].kernel,
                            strides: (axes[0].stride, axes[1].stride),
                            pads: (axes[0].padBegin, axes[1].padBegin, axes[0].padEnd, axes[1].padEnd),
                            dilations: (axes[0].dilation, axes[1].dilation), groups: groups)
        batch = x[0]
        fixedWeights = try ctx.constantFloats(1)
        fixedBias = try ctx.constantFloats(2)
        hasBias = ctx.node.inputs.count > 2 && !ctx.node.inputs[2].isEmpty
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        guard let weights = inputs[1]?.scalars ?? fixedWeights else { throw .node(label, "weights are missing") }
        let bias = hasBias ? (inputs.count > 2 ? inputs[2]?.scalars : nil) ?? fixedBias : nil
        var y = FloatTensor(zeros: [batch, shape.outputChannels, shape.outputHeight, shape.outputWidth])
        do {
            let conv = try weights.withUnsafeBufferPointer { w throws(KernelError) in
                try withOptionalPointer(bias) { b throws(KernelError) in
                    try Conv2D(shape: shape, weights: w.baseAddress!, bias: b, options: context.options)
                }
            }
            try x.scalars.withUnsafeBufferPointer { xp throws(KernelError) in
                try y.scalars.withUnsafeMutableBufferPointer { yp throws(KernelError) in
                    try conv.run(input: xp.baseAddress!, batch: batch, output: yp.baseAddress!, context: context)
                }
            }
        } catch {
            throw .node(label, "\(error)")
        }
        savedInput = x
        savedWeights = weights
        return [y]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        guard let dy = outputGradients[0] else { return [nil, nil, nil] }
        guard let x = savedInput, let weights = savedWeights else { throw .node(label, "backward before forward") }
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        do {
            if wanted[0] {
                var dx = FloatTensor(zeros: x.dims)
                try weights.withUnsafeBufferPointer { w throws(KernelError) in
                    try dy.scalars.withUnsafeBufferPointer { g throws(KernelError) in
                        try dx.scalars.withUnsafeMutableBufferPointer { d throws(KernelError) in
                            try conv2DBackwardData(shape, batch: batch, weights: w.baseAddress!, outputGradient: g.baseAddress!,
                                                   inputGradient: d.baseAddress!, context: context)
                        }
                    }
                }
                grads[0] = dx
            }
            let wantW = wanted.count > 1 && wanted[1], wantB = wanted.count > 2 && wanted[2]
            if wantW || wantB {
                var dw = FloatTensor(zeros: [shape.outputChannels, shape.inputChannels / shape.groups, shape.kernelH, shape.kernelW])
                var db = [Float](repeating: 0, count: wantB ? shape.outputChannels : 0)
                try x.scalars.withUnsafeBufferPointer { xp throws(KernelError) in
                    try dy.scalars.withUnsafeBufferPointer { g throws(KernelError) in
                        try dw.scalars.withUnsafeMutableBufferPointer { w throws(KernelError) in
                            try db.withUnsafeMutableBufferPointer { b throws(KernelError) in
                                try conv2DBackwardFilter(shape, batch: batch, input: xp.baseAddress!, outputGradient: g.baseAddress!,
                                                         weightGradient: w.baseAddress!, biasGradient: wantB ? b.baseAddress : nil,
                                                         context: context)
                            }
                        }
                    }
                }
                if wantW { grads[1] = dw }
                if wantB { grads[2] = FloatTensor(dims: [shape.outputChannels], scalars: db) }
            }
        } catch {
            throw .node(label, "\(error)")
        }
        return grads
    }

    func release() { savedInput = nil; savedWeights = nil }
}

/// Calls `body` with a pointer to `array`'s storage, or nil when there is no array.
func withOptionalPointer<R, E: Error>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) throws(E) -> R) throws(E) -> R {
    guard let array else { return try body(nil) }
    return try array.withUnsafeBufferPointer { p throws(E) in try body(p.baseAddress) }
}
