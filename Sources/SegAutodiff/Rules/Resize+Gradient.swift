import SegKernels

/// Resize (and Upsample) of H and W, linear or nearest, with the coordinate modes exporters
/// write: the forward is the inference kernel, the backward scatters each output gradient
/// onto the (up to four) input pixels it was blended from, with the same weights.
enum ResizeGradients {
    static let all: [GradientRule] = ["Resize", "Upsample"].map { op in
        GradientRule(op) { ctx throws(AutodiffError) in try ResizeStep(ctx) }
    }
}

final class ResizeStep: DifferentiableStep {
    let label: String
    let mode: ResizeMode
    let coordinates: ResizeCoordinates
    let inputDims: [Int], outputDims: [Int]
    let scales: (Float, Float)?
    let context: KernelContext

    init(_ ctx: RuleContext) throws(AutodiffError) {
        label = ctx.label
        context = ctx.kernels
        let x = try ctx.inputShape(0), y = try ctx.outputShape(0)
        guard x.count == 4, y.count == 4, x[0] == y[0], x[1] == y[1] else {
            throw ctx.error("only resizes of H and W of a 4-D tensor train (\(x) → \(y))")
        }
        let isUpsample = ctx.node.opType == "Upsample"
        let modeName = try ctx.attribute { try $0.string("mode", default: "nearest") }
        let coordinateName = isUpsample ? "asymmetric" : try ctx.attribute { try $0.string("coordinate_transformation_mode", default: "half_pixel") }
        let nearestName = isUpsample ? "floor" : try ctx.attribute { try $0.string("nearest_mode", default: "round_prefer_floor") }
        let antialias = try ctx.attribute { try $0.int("antialias", default: 0) }
        guard antialias == 0, !ctx.attributes.has("axes") else { throw ctx.error("antialias and axes are not supported for training") }
        guard let coordinates = ResizeCoordinates(onnx: coordinateName) else {
            throw ctx.error("coordinate_transformation_mode '\(coordinateName)' is not supported for training")
        }
        guard let mode = ResizeMode(onnx: modeName, nearestMode: nearestName) else {
            throw ctx.error("mode '\(modeName)' (nearest_mode '\(nearestName)') is not supported for training")
        }
        self.mode = mode
        self.coordinates = coordinates
        inputDims = x
        outputDims = y
        // Given scales drive the coordinate mapping; sizes mean out/in.
        let scaleIndex = isUpsample || ctx.attributes.opset < 11 ? 1 : 2
        if let s = try ctx.constantFloats(scaleIndex), s.count == 4 {
            guard s[0] == 1, s[1] == 1 else { throw ctx.error("scales \(s) resize N or C") }
            scales = (s[2], s[3])
        } else {
            scales = nil
        }
    }

    private var scaleH: Float { scales?.0 ?? Float(outputDims[2]) / Float(inputDims[2]) }
    private var scaleW: Float { scales?.1 ?? Float(outputDims[3]) / Float(inputDims[3]) }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        var y = FloatTensor(zeros: outputDims)
        do {
            try x.scalars.withUnsafeBufferPointer { xp throws(KernelError) in
                try y.scalars.withUnsafeMutableBufferPointer { yp throws(KernelError) in
                    try resize(mode, coordinates: coordinates, input: xp.baseAddress!, planes: inputDims[0] * inputDims[1],
                               inHeight: inputDims[2], inWidth: inputDims[3], output: yp.baseAddress!,
                               outHeight: outputDims[2], outWidth: outputDims[3], scales: scales, context: context)
                }
            }
        } catch {
            throw .node(label, "\(error)")
        }
        return [y]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard wanted[0], let dy = outputGradients[0] else { return grads }
        let (inH, inW, outH, outW) = (inputDims[2], inputDims[3], outputDims[2], outputDims[3])
        let rows = resizeTaps(mode, coordinates, scale: scaleH, inLength: inH, outLength: outH)
        let columns = resizeTaps(mode, coordinates, scale: scaleW, inLength: inW, outLength: outW)
        var dx = [Float](repeating: 0, count: inputDims.reduce(1, *))
        dy.scalars.withUnsafeBufferPointer { gp in
            dx.withUnsafeMutableBufferPointer { dp in
                let g = gp.baseAddress!, d = dp.baseAddress!
                context.pool.parallelFor(inputDims[0] * inputDims[1]) { range in
                    for p in range {
                        let src = g + p * outH * outW, dst = d + p * inH * inW
                        for oy in 0..<outH {
                            let (r0, r1, wy) = rows[oy]
                            let top = dst + r0 * inW, bottom = dst + r1 * inW
                            let row = src + oy * outW
                            for ox in 0..<outW {
                                let (c0, c1, wx) = columns[ox]
                                let v = row[ox]
                                let vb = v * wy, vt = v - vb
                                top[c0] += vt - vt * wx
                                top[c1] += vt * wx
                                bottom[c0] += vb - vb * wx
                                bottom[c1] += vb * wx
                            }
                        }
                    }
                }
            }
        }
        grads[0] = FloatTensor(dims: inputDims, scalars: dx)
        return grads
    }

    func release() {}
}
