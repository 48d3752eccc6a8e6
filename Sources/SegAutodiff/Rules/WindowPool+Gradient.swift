import SegGraph
import SegKernels

/// MaxPool and AveragePool over 1 to 3 spatial axes (strides, pads, auto_pad, dilations,
/// ceil_mode, count_include_pad). The forward keeps, for MaxPool, the winner of every window
/// (the first maximum in row-major window order, as PyTorch picks it); the backward adds each
/// output gradient to its winner, or for AveragePool spreads it over the window's taps
/// divided by the divisor the forward used.
enum WindowPoolGradients {
    static let all: [GradientRule] = [
        GradientRule("MaxPool") { ctx throws(AutodiffError) in try WindowPoolStep(ctx, isMax: true) },
        GradientRule("AveragePool") { ctx throws(AutodiffError) in try WindowPoolStep(ctx, isMax: false) },
    ]
}

final class WindowPoolStep: DifferentiableStep {
    let label: String
    let isMax: Bool
    let inputDims: [Int], outputDims: [Int]
    let planes: Int, inPlane: Int, outPlane: Int
    /// Per canonical axis (depth, height, width) and output position: the input positions
    /// the window reads inside the input.
    let windows: [[[Int]]]
    /// AveragePool: per output position (within a plane) the divisor.
    let divisors: [Float]
    let context: KernelContext
    /// MaxPool: per output element, the winner's index within its input plane.
    private var winners: [Int32]?

    init(_ ctx: RuleContext, isMax: Bool) throws(AutodiffError) {
        label = ctx.label
        self.isMax = isMax
        context = ctx.kernels
        let x = try ctx.inputShape(0)
        guard (3...5).contains(x.count) else { throw ctx.error("pooling trains over 1 to 3 spatial axes; the input is \(x)") }
        if isMax, ctx.node.outputs.count > 1, !ctx.node.outputs[1].isEmpty {
            throw ctx.error("the Indices output of MaxPool is not supported for training")
        }
        if !isMax, ctx.attributes.opset < 19, ctx.attributes.has("dilations") {
            throw ctx.error("dilations on AveragePool before opset 19 are not part of the operator")
        }
        let axes: [SpatialAxis]
        do {
            let geometry = try ConvGeometry(ctx.node)
            let kernel = try geometry.kernel(rank: x.count - 2, fromWeights: nil)
            axes = try geometry.forwardAxes(input: Array(x[2...]), kernel: kernel, dilatedSamePad: false)
        } catch {
            throw ctx.error("\(error)")
        }
        let includePad = isMax ? false : try ctx.attribute { try $0.int("count_include_pad", default: 0) } != 0
        let a = [SpatialAxis](repeating: .unit, count: 3 - axes.count) + axes
        inputDims = x
        outputDims = Array(x[..<2]) + axes.map(\.output)
        if let inferred = ctx.outputShapes.first ?? nil, inferred != outputDims {
            throw ctx.error("pooled shape \(outputDims) disagrees with shape inference's \(inferred)")
        }
        planes = x[0] * x[1]
        inPlane = a.reduce(1) { $0 * $1.input }
        outPlane = a.reduce(1) { $0 * $1.output }
        let windows = a.map(\.windows), padded = a.map(\.paddedTapCounts)
        var divisors: [Float] = []
        if !isMax {
            divisors.reserveCapacity(outPlane)
            for d in 0..<a[0].output { for h in 0..<a[1].output { for w in 0..<a[2].output {
                let n = includePad ? padded[0][d] * padded[1][h] * padded[2][w]
                                   : windows[0][d].count * windows[1][h].count * windows[2][w].count
                divisors.append(Float(max(n, 1)))
            } } }
        }
        for (i, axis) in a.enumerated() where windows[i].contains(where: \.isEmpty) {
            throw ctx.error("a window of \(axis.kernel) lies wholly in the padding (pads \(axis.padBegin), \(axis.padEnd)); check pads")
        }
        self.windows = windows
        self.divisors = divisors
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        var y = [Float](repeating: 0, count: planes * outPlane)
        var winners = [Int32](repeating: 0, count: isMax ? y.count : 0)
        let (windows, inPlane, outPlane, isMax, divisors) = (windows, inPlane, outPlane, isMax, divisors)
        let (H, W) = (inputDims.count >= 4 ? inputDims[inputDims.count - 2] : 1, inputDims[inputDims.count - 1])
        x.scalars.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                winners.withUnsafeMutableBufferPointer { wp in
                    let src = xp.baseAddress!, dst = yp.baseAddress!, win = wp.baseAddress
                    context.pool.parallelFor(planes) { range in
                        for p in range {
                            let plane = src + p * inPlane
                            var o = p * outPlane
                            for wd in windows[0] { for wh in windows[1] { for ww in windows[2] {
                                var best = -Float.infinity, bestIndex = -1, sum: Float = 0
                                for d in wd { for h in wh {
                                    let row = (d * H + h) * W
                                    for w in ww {
                                        let v = plane[row + w]
                                        if isMax {
                                            // Strictly greater keeps the first maximum; NaN wins so it propagates.
                                            if v > best || bestIndex < 0 || v.isNaN && !best.isNaN { best = v; bestIndex = row + w }
                                        } else {
                                            sum += v
                                        }
                                    }
                                } }
                                if isMax {
                                    dst[o] = best
                                    win![o] = Int32(bestIndex)
                                } else {
                                    dst[o] = sum / divisors[o - p * outPlane]
                                }
                                o += 1
                            } } }
                        }
                    }
                }
            }
        }
        if isMax { self.winners = winners }
        return [FloatTensor(dims: outputDims, scalars: y)]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard wanted[0], let dy = outputGradients[0] else { return grads }
        var dx = [Float](repeating: 0, count: planes * inPlane)
        let (windows, inPlane, outPlane, divisors) = (windows, inPlane, outPlane, divisors)
        let (H, W) = (inputDims.count >= 4 ? inputDims[inputDims.count - 2] : 1, inputDims[inputDims.count - 1])
        if isMax {
            guard let winners else { throw .node(label, "backward before forward") }
            dy.scalars.withUnsafeBufferPointer { gp in
                winners.withUnsafeBufferPointer { wp in
                    dx.withUnsafeMutableBufferPointer { dp in
                        let g = gp.baseAddress!, win = wp.baseAddress!, d = dp.baseAddress!
                        context.pool.parallelFor(planes) { range in
                            for p in range {
                                let plane = d + p * inPlane
                                for o in (p * outPlane)..<((p + 1) * outPlane) { plane[Int(win[o])] += g[o] }
                            }
                        }
                    }
                }
            }
        } else {
            dy.scalars.withUnsafeBufferPointer { gp in
                dx.withUnsafeMutableBufferPointer { dp in
                    let g = gp.baseAddress!, dst = dp.baseAddress!
                    context.pool.parallelFor(planes) { range in
                        for p in range {
                            let plane = dst + p * inPlane
                            var o = p * outPlane
                            for wd in windows[0] { for wh in windows[1] { for ww in windows[2] {
                                let v = g[o] / divisors[o - p * outPlane]
                                for d in wd { for h in wh {
                                    let row = plane + (d * H + h) * W
                                    for w in ww { row[w] += v }
                                } }
                                o += 1
                            } } }
                        }
                    }
                }
            }
        }
        grads[0] = FloatTensor(dims: inputDims, scalars: dx)
        return grads
    }

    func release() { winners = nil }
}
