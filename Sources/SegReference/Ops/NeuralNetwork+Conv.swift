import SegGraph
import SegTensor

/// Shapes and window geometry of one convolution (Conv, ConvInteger, QLinearConv), checked
/// against the inputs before any kernel runs. Layout is NC(D)(H)W; weights are
/// [M, C/group, k...].
struct ConvPlan {
    var batch: Int
    var inChannels: Int
    var outChannels: Int
    var group: Int
    /// The real spatial axes (1 to 3 of them).
    var axes: [SpatialAxis]

    var outputDims: [Int] { [batch, outChannels] + axes.map(\.output) }

    static let attributes = ConvGeometry.attributeNames.union(["group"])

    /// Load-time check of what does not depend on shapes.
    static func check(_ ctx: NodeContext) throws {
        _ = try ConvGeometry(ctx.node)
        guard try ctx.int("group", default: 1) >= 1 else { throw OpError.attribute("group", "must be at least 1") }
    }

    init(_ ctx: NodeContext, x: [Int], w: [Int], weightInput: Int = 1) throws {
        let attrs = try ConvGeometry(ctx.node)
        group = try ctx.int("group", default: 1)
        guard group >= 1 else { throw OpError.attribute("group", "must be at least 1, got \(group)") }
        guard x.count >= 3 else { throw OpError.input(0, "expected rank 3 or more (N, C, spatial...), got shape \(x)") }
        guard w.count == x.count else {
            throw OpError.input(weightInput, "weights of shape \(w) do not match the rank of the input \(x)")
        }
        batch = x[0]
        inChannels = x[1]
        outChannels = w[0]
        guard inChannels % group == 0, outChannels % group == 0 else {
            throw OpError.attribute("group", "\(group) does not divide input channels \(inChannels) and output channels \(outChannels)")
        }
        guard w[1] == inChannels / group else {
            throw OpError.input(weightInput, "weights have \(w[1]) input channels per group, input has \(inChannels) / group \(group)")
        }
        let rank = x.count - 2
        let kernel = try attrs.kernel(rank: rank, fromWeights: Array(w[2...]))
        axes = try attrs.forwardAxes(input: Array(x[2...]), kernel: kernel)
    }

    /// Output type for inference: batch dim kept symbolic, spatial dims computed when known.
    static func infer(_ ctx: NodeContext, x: [Dimension]?, w: [Dimension]?, dtype: DType?) throws -> TensorType {
        guard let x, x.count >= 3 else { return TensorType(elementType: dtype, shape: nil) }
        let attrs = try ConvGeometry(ctx.node)
        let rank = x.count - 2
        let weightKernel: [Int]? = w.flatMap { w in
            let k = w.dropFirst(2).compactMap { NN.known($0) }
            return w.count == x.count && k.count == rank ? k : nil
        }
        let kernel = attrs.kernelShape ?? weightKernel
        var out: [Dimension] = [x[0], w.flatMap { $0.first } ?? .unknown]
        for i in 0..<rank {
            if let k = kernel, k.count == rank, let input = NN.known(x[2 + i]) {
                out.append(.value(try attrs.forwardAxis(i, input: input, kernel: k[i], rank: rank).output))
            } else {
                out.append(.unknown)
            }
        }
        return TensorType(elementType: dtype, shape: out)
    }
}

extension NeuralNetworkOperators {
    /// Conv (1, 11): cross-correlation with groups (depthwise when group = C), dilations,
    /// strides, explicit or automatic padding and an optional bias; f16/f32 compute in f32,
    /// f64 in f64.
    static let conv = OperatorDefinition(
        "Conv", versions: 1...Int.max, attributes: ConvPlan.attributes,
        check: { try ConvPlan.check($0) },
        infer: { ctx, inputs in
            let x = inputs.first??.type, w = inputs.count > 1 ? inputs[1]?.type : nil
            return [try ConvPlan.infer(ctx, x: x?.shape, w: w?.shape, dtype: x?.elementType)]
        }
    ) { ctx, inputs in
        let x = try required(inputs, 0), w = try required(inputs, 1), bias = optional(inputs, 2)
        guard NN.isFloat(x.dtype) else { throw OpError.input(0, "Conv takes f16, f32 or f64, got \(x.dtype)") }
        guard w.dtype == x.dtype else { throw OpError.input(1, "weights are \(w.dtype), input is \(x.dtype)") }
        let plan = try ConvPlan(ctx, x: x.dims, w: w.dims)
        if x.dtype == .f64 { return [try floatConv(Double.self, plan, x, w, bias)] }
        return [try floatConv(Float.self, plan, x, w, bias)]
    }

    static func floatConv<F: NNFloat & NNMulAdd>(_: F.Type, _ plan: ConvPlan, _ x: Tensor, _ w: Tensor, _ bias: Tensor?) throws -> Tensor {
        let count = try NN.checkedCount(plan.outputDims, dtype: x.dtype)
        var y = [F](repeating: 0, count: count)
        let xs: [F] = try NN.floats(x, input: 0), ws: [F] = try NN.floats(w, input: 1)
        try convolve(xs, ws, &y, plan)
        if let bias {
            let b: [F] = try NN.floats(bias, input: 2)
            guard b.count == plan.outChannels else { throw OpError.input(2, "bias has \(b.count) values for \(plan.outChannels) output channels") }
            addPerChannel(&y, b, batch: plan.batch, channels: plan.outChannels)
        }
        return try NN.tensor(y, dims: plan.outputDims, dtype: x.dtype)
    }

    /// Adds `values[c]` to every element of channel `c` of an N×C×spatial buffer.
    static func addPerChannel<T: NNFloat>(_ y: inout [T], _ values: [T], batch: Int, channels: Int) {
        guard batch > 0, channels > 0, values.count == channels else { return }
        let spatial = y.count / (batch * channels)
        y.withUnsafeMutableBufferPointer { out in
            var i = 0
            for _ in 0..<batch {
                for c in 0..<channels {
                    let v = values[c]
                    for _ in 0..<spatial { out[i] += v; i += 1 }
                }
            }
        }
    }

    /// Direct convolution: `y[n, m, o] += Σ w[m, c, t] · x[n, g·C/G + c, o·stride − pad + t·dilation]`,
    /// taps outside the input skipped (zero padding; for the integer paths the zero point has
    /// already been subtracted, so padding contributes nothing either). For each output row the
    /// sum runs over channels, then kernel taps; the innermost loop walks contiguous output
    /// over a precomputed valid range, so there is no per-element bounds test.
    static func convolve<T: NNMulAdd>(_ x: [T], _ w: [T], _ y: inout [T], _ plan: ConvPlan) throws {
        let a = try SpatialAxis.canonical3(plan.axes)
        let (ad, ah, aw) = (a[0], a[1], a[2])
        let inPlane = ad.input * ah.input * aw.input, outPlane = ad.output * ah.output * aw.output
        let taps = ad.kernel * ah.kernel * aw.kernel
        let cPerG = plan.inChannels / plan.group, mPerG = plan.outChannels / plan.group
        guard x.count == plan.batch * plan.inChannels * inPlane else { throw OpError.input(0, "input has \(x.count) elements, shape implies more") }
        guard w.count == plan.outChannels * cPerG * taps else { throw OpError.input(1, "weights have \(w.count) elements, shape implies more") }
        guard y.count == plan.batch * plan.outChannels * outPlane else { throw OpError.other("Conv output buffer has the wrong size") }
        let widthRanges = (0..<aw.kernel).map { aw.validOutputs(tap: $0) }
        x.withUnsafeBufferPointer { x in
            w.withUnsafeBufferPointer { w in
                y.withUnsafeMutableBufferPointer { y in
                    for n in 0..<plan.batch {
                        for m in 0..<plan.outChannels {
                            let g = m / mPerG
                            for od in 0..<ad.output {
                                for oh in 0..<ah.output {
                                    let yRow = ((n * plan.outChannels + m) * ad.output + od) * ah.output * aw.output + oh * aw.output
                                    for cc in 0..<cPerG {
                                        let xPlane = (n * plan.inChannels + g * cPerG + cc) * inPlane
                                        let wBase = (m * cPerG + cc) * taps
                                        for kd in 0..<ad.kernel {
                                            let id = od * ad.stride - ad.padBegin + kd * ad.dilation
                                            guard id >= 0 && id < ad.input else { continue }
                                            for kh in 0..<ah.kernel {
                                                let ih = oh * ah.stride - ah.padBegin + kh * ah.dilation
                                                guard ih >= 0 && ih < ah.input else { continue }
                                                let xRow = xPlane + (id * ah.input + ih) * aw.input
                                                for kw in 0..<aw.kernel {
                                                    let wv = w[wBase + (kd * ah.kernel + kh) * aw.kernel + kw]
                                                    let x0 = xRow + kw * aw.dilation - aw.padBegin
                                                    let range = widthRanges[kw]
                                                    if aw.stride == 1 {
                                                        for ow in range { y[yRow + ow] = T.nnMulAdd(y[yRow + ow], wv, x[x0 + ow]) }
                                                    } else {
                                                        for ow in range { y[yRow + ow] = T.nnMulAdd(y[yRow + ow], wv, x[x0 + ow * aw.stride]) }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
