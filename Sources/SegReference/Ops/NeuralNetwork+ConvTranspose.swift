import SegGraph
import SegTensor

/// Shapes of one ConvTranspose: input [N, C, spatial...], weights [C, M/group, k...],
/// output [N, M, out...] with `out = stride·(in − 1) + output_padding + span − pads`.
struct ConvTransposePlan {
    var batch: Int
    var inChannels: Int
    var outChannels: Int
    var group: Int
    /// Per spatial axis: `input`/`output` sizes, and input position `i` writes output
    /// `i·stride − padBegin + t·dilation` for tap `t`.
    var axes: [SpatialAxis]

    var outputDims: [Int] { [batch, outChannels] + axes.map(\.output) }

    static let attributes = ConvTransposeGeometry.attributeNames.union(["group"])

    static func check(_ ctx: NodeContext) throws {
        try ConvPlan.check(ctx)
        _ = try ConvTransposeGeometry(ctx.node)
    }

    init(_ ctx: NodeContext, x: [Int], w: [Int]) throws {
        let geometry = try ConvTransposeGeometry(ctx.node)
        group = try ctx.int("group", default: 1)
        guard group >= 1 else { throw OpError.attribute("group", "must be at least 1, got \(group)") }
        guard x.count >= 3 else { throw OpError.input(0, "expected rank 3 or more (N, C, spatial...), got shape \(x)") }
        guard w.count == x.count else { throw OpError.input(1, "weights of shape \(w) do not match the rank of the input \(x)") }
        batch = x[0]
        inChannels = x[1]
        guard inChannels == w[0], inChannels % group == 0 else {
            throw OpError.input(1, "weights have \(w[0]) input channels, input has \(inChannels) (group \(group))")
        }
        let (product, overflow) = w[1].multipliedReportingOverflow(by: group)
        guard !overflow else { throw OpError.input(1, "output channel count overflows") }
        outChannels = product
        let rank = x.count - 2
        let kernel = try geometry.window.kernel(rank: rank, fromWeights: Array(w[2...]))
        axes = try geometry.axes(input: Array(x[2...]), kernel: kernel)
    }
}

extension NeuralNetworkOperators {
    /// ConvTranspose (1, 11): the gradient of Conv, with groups, dilations, output_padding,
    /// output_shape and auto_pad.
    static let convTranspose = OperatorDefinition(
        "ConvTranspose", attributes: ConvTransposePlan.attributes,
        check: { try ConvTransposePlan.check($0) },
        infer: { ctx, inputs in
            let x = inputs.first??.type, w = inputs.count > 1 ? inputs[1]?.type : nil
            guard let xs = x?.shape, xs.count >= 3 else { return [TensorType(elementType: x?.elementType, shape: nil)] }
            let spatial = xs.dropFirst(2).compactMap { NN.known($0) }
            guard let ws = w?.concreteDims, ws.count == xs.count, spatial.count == xs.count - 2 else {
                return [TensorType(elementType: x?.elementType, shape: [xs[0]] + [Dimension](repeating: .unknown, count: xs.count - 1))]
            }
            let plan = try ConvTransposePlan(ctx, x: [1, ws[0]] + spatial, w: ws)
            return [TensorType(elementType: x?.elementType, shape: [xs[0]] + plan.outputDims.dropFirst().map { .value($0) })]
        }
    ) { ctx, inputs in
        let x = try required(inputs, 0), w = try required(inputs, 1), bias = optional(inputs, 2)
        guard NN.isFloat(x.dtype) else { throw OpError.input(0, "ConvTranspose takes f16, f32 or f64, got \(x.dtype)") }
        guard w.dtype == x.dtype else { throw OpError.input(1, "weights are \(w.dtype), input is \(x.dtype)") }
        let plan = try ConvTransposePlan(ctx, x: x.dims, w: w.dims)
        if x.dtype == .f64 { return [try transposedConv(Double.self, plan, x, w, bias)] }
        return [try transposedConv(Float.self, plan, x, w, bias)]
    }

    /// Scatter form: every input element adds `x · w[c, m, t]` to output
    /// `i·stride − pad + t·dilation`, skipping positions outside the output.
    static func transposedConv<F: NNFloat>(_: F.Type, _ plan: ConvTransposePlan, _ xt: Tensor, _ wt: Tensor, _ bias: Tensor?) throws -> Tensor {
        let count = try NN.checkedCount(plan.outputDims, dtype: xt.dtype)
        var y = [F](repeating: 0, count: count)
        let x: [F] = try NN.floats(xt, input: 0), w: [F] = try NN.floats(wt, input: 1)
        let a = try SpatialAxis.canonical3(plan.axes)
        let (ad, ah, aw) = (a[0], a[1], a[2])
        let inPlane = ad.input * ah.input * aw.input, outPlane = ad.output * ah.output * aw.output
        let taps = ad.kernel * ah.kernel * aw.kernel
        let cPerG = plan.inChannels / plan.group, mPerG = plan.outChannels / plan.group
        guard x.count == plan.batch * plan.inChannels * inPlane, w.count == plan.inChannels * mPerG * taps else {
            throw OpError.input(1, "input or weight element count does not match its shape")
        }
        // Input positions whose tap lands inside the output, per width tap.
        let widthRanges: [Range<Int>] = (0..<aw.kernel).map { t in
            let offset = t * aw.dilation - aw.padBegin
            let lo = max(0, NN.ceilDiv(-offset, aw.stride)), hi = min(aw.input, NN.floorDiv(aw.output - 1 - offset, aw.stride) + 1)
            return lo < hi ? lo..<hi : 0..<0
        }
        x.withUnsafeBufferPointer { x in w.withUnsafeBufferPointer { w in y.withUnsafeMutableBufferPointer { y in
            for n in 0..<plan.batch {
                for c in 0..<plan.inChannels {
                    let g = c / cPerG
                    let xPlane = (n * plan.inChannels + c) * inPlane
                    for mm in 0..<mPerG {
                        let m = g * mPerG + mm
                        let yPlane = (n * plan.outChannels + m) * outPlane
                        let wBase = (c * mPerG + mm) * taps
                        for id in 0..<ad.input { for kd in 0..<ad.kernel {
                            let od = id * ad.stride - ad.padBegin + kd * ad.dilation
                            guard od >= 0 && od < ad.output else { continue }
                            for ih in 0..<ah.input { for kh in 0..<ah.kernel {
                                let oh = ih * ah.stride - ah.padBegin + kh * ah.dilation
                                guard oh >= 0 && oh < ah.output else { continue }
                                let xRow = xPlane + (id * ah.input + ih) * aw.input
                                let yRow = yPlane + (od * ah.output + oh) * aw.output
                                for kw in 0..<aw.kernel {
                                    let wv = w[wBase + (kd * ah.kernel + kh) * aw.kernel + kw]
                                    let y0 = yRow + kw * aw.dilation - aw.padBegin
                                    for iw in widthRanges[kw] { y[y0 + iw * aw.stride] += wv * x[xRow + iw] }
                                }
                            } }
                        } }
                    }
                }
            }
        } } }
        if let bias {
            let b: [F] = try NN.floats(bias, input: 2)
            guard b.count == plan.outChannels else { throw OpError.input(2, "bias has \(b.count) values for \(plan.outChannels) output channels") }
            addPerChannel(&y, b, batch: plan.batch, channels: plan.outChannels)
        }
        return try NN.tensor(y, dims: plan.outputDims, dtype: xt.dtype)
    }
}
