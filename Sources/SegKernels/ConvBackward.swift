/// Backward passes of `Conv2D` for training: the input gradient (dX = Wᵀ·dY scattered back
/// through the windows, "col2im") and the weight gradient (dW = dY·colᵀ, "im2col"), per group
/// and image, as GEMMs on the same driver the forward conv uses. Depthwise convs (one filter
/// per channel) are direct loops instead: their GEMMs would have one row.
extension Conv2DShape {
    var isDepthwise: Bool { groups == inputChannels && groups == outputChannels }
    var isPointwise: Bool {
        kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && pads == (0, 0, 0, 0)
    }

    /// Valid output columns for kernel column `kx`: those whose input column is inside the row.
    func validColumns(kx: Int) -> Range<Int> {
        let offset = kx * dilationW - pads.left
        let first = offset >= 0 ? 0 : (-offset + strideW - 1) / strideW
        let last = (width - 1 - offset) >= 0 ? (width - 1 - offset) / strideW : -1
        return first..<max(first, min(outputWidth, last + 1))
    }

    func validRows(ky: Int) -> Range<Int> {
        let offset = ky * dilationH - pads.top
        let first = offset >= 0 ? 0 : (-offset + strideH - 1) / strideH
        let last = (height - 1 - offset) >= 0 ? (height - 1 - offset) / strideH : -1
        return first..<max(first, min(outputHeight, last + 1))
    }
}

/// dX [batch, Cin, H, W] (overwritten) from dY [batch, Cout, outH, outW] and W.
package func conv2DBackwardData(_ s: Conv2DShape, batch: Int, weights: UnsafePointer<Float>,
                                outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>,
                                context: KernelContext = .shared) throws(KernelError) {
    try s.validate()
    let inPlane = s.height * s.width, outPlane = s.outputHeight * s.outputWidth
    dx.update(repeating: 0, count: batch * s.inputChannels * inPlane)
    if s.isDepthwise {
        depthwiseBackwardData(s, batch: batch, weights: weights, dy: dy, dx: dx, context: context)
        return
    }
    let cinG = s.inputChannels / s.groups, coutG = s.outputChannels / s.groups
    let depth = cinG * s.kernelH * s.kernelW
    var col = [Float](repeating: 0, count: s.isPointwise ? 0 : depth * outPlane)
    for n in 0..<batch {
        for g in 0..<s.groups {
            let w = weights + g * coutG * depth
            let dyG = dy + (n * s.outputChannels + g * coutG) * outPlane
            let dxG = dx + (n * s.inputChannels + g * cinG) * inPlane
            if s.isPointwise {
                try sgemm(m: cinG, n: outPlane, k: coutG, a: w, lda: cinG, transposeA: true,
                          b: dyG, ldb: outPlane, c: dxG, ldc: outPlane, context: context)
                continue
            }
            try col.withUnsafeMutableBufferPointer { colBuffer throws(KernelError) in
                let c = colBuffer.baseAddress!
                try sgemm(m: depth, n: outPlane, k: coutG, a: w, lda: depth, transposeA: true,
                          b: dyG, ldb: outPlane, c: c, ldc: outPlane, context: context)
                col2im(s, channels: cinG, col: c, into: dxG, context: context)
            }
        }
    }
}

/// dW [Cout, Cin/groups, kH, kW] (overwritten) and, when given, dB [Cout], from X and dY.
package func conv2DBackwardFilter(_ s: Conv2DShape, batch: Int, input x: UnsafePointer<Float>,
                                  outputGradient dy: UnsafePointer<Float>, weightGradient dw: UnsafeMutablePointer<Float>,
                                  biasGradient db: UnsafeMutablePointer<Float>?,
                                  context: KernelContext = .shared) throws(KernelError) {
    try s.validate()
    let inPlane = s.height * s.width, outPlane = s.outputHeight * s.outputWidth
    let cinG = s.inputChannels / s.groups, coutG = s.outputChannels / s.groups
    let depth = cinG * s.kernelH * s.kernelW
    if let db {
        context.pool.parallelFor(s.outputChannels) { range in
            for o in range {
                var sum: Float = 0
                for n in 0..<batch {
                    let p = dy + (n * s.outputChannels + o) * outPlane
                    for i in 0..<outPlane { sum += p[i] }
                }
                db[o] = sum
            }
        }
    }
    if s.isDepthwise {
        depthwiseBackwardFilter(s, batch: batch, x: x, dy: dy, dw: dw, context: context)
        return
    }
    var col = [Float](repeating: 0, count: s.isPointwise ? 0 : depth * outPlane)
    for n in 0..<batch {
        for g in 0..<s.groups {
            let dwG = dw + g * coutG * depth
            let dyG = dy + (n * s.outputChannels + g * coutG) * outPlane
            let xG = x + (n * s.inputChannels + g * cinG) * inPlane
            let beta: Float = n == 0 ? 0 : 1
            if s.isPointwise {
                try sgemm(m: coutG, n: cinG, k: outPlane, a: dyG, lda: outPlane,
                          b: xG, ldb: inPlane, transposeB: true, beta: beta, c: dwG, ldc: cinG, context: context)
                continue
            }
            try col.withUnsafeMutableBufferPointer { colBuffer throws(KernelError) in
                let c = colBuffer.baseAddress!
                im2col(s, channels: cinG, image: xG, into: c, context: context)
                try sgemm(m: coutG, n: depth, k: outPlane, a: dyG, lda: outPlane,
                          b: c, ldb: outPlane, transposeB: true, beta: beta, c: dwG, ldc: depth, context: context)
            }
        }
    }
}

/// col[(c·kH + ky)·kW + kx][oy·outW + ox] = x[c, iy, ix] (0 in the padding).
func im2col(_ s: Conv2DShape, channels: Int, image x: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>,
            context: KernelContext) {
    let outW = s.outputWidth, outPlane = s.outputHeight * outW, taps = s.kernelH * s.kernelW
    context.pool.parallelFor(channels * taps) { range in
        for row in range {
            let c = row / taps, ky = (row % taps) / s.kernelW, kx = row % s.kernelW
            let dst = col + row * outPlane
            dst.update(repeating: 0, count: outPlane)
            let columns = s.validColumns(kx: kx)
            guard !columns.isEmpty else { continue }
            let plane = x + c * s.height * s.width
            for oy in s.validRows(ky: ky) {
                let src = plane + (oy * s.strideH - s.pads.top + ky * s.dilationH) * s.width
                let ixBase = kx * s.dilationW - s.pads.left
                let out = dst + oy * outW
                if s.strideW == 1 {
                    (out + columns.lowerBound).update(from: src + columns.lowerBound + ixBase, count: columns.count)
                } else {
                    for ox in columns { out[ox] = src[ox * s.strideW + ixBase] }
                }
            }
        }
    }
}

/// The adjoint of `im2col`: adds each col entry back onto the input pixel it was read from.
/// Parallel over channels (a channel's rows touch only its own plane).
func col2im(_ s: Conv2DShape, channels: Int, col: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
            context: KernelContext) {
    let outW = s.outputWidth, outPlane = s.outputHeight * outW, taps = s.kernelH * s.kernelW
    context.pool.parallelFor(channels) { range in
        for c in range {
            let plane = dx + c * s.height * s.width
            for tap in 0..<taps {
                let ky = tap / s.kernelW, kx = tap % s.kernelW
                let src = col + (c * taps + tap) * outPlane
                let columns = s.validColumns(kx: kx)
                guard !columns.isEmpty else { continue }
                let ixBase = kx * s.dilationW - s.pads.left
                for oy in s.validRows(ky: ky) {
                    let dst = plane + (oy * s.strideH - s.pads.top + ky * s.dilationH) * s.width + ixBase
                    let row = src + oy * outW
                    if s.strideW == 1 {
                        for ox in columns { dst[ox] += row[ox] }
                    } else {
                        for ox in columns { dst[ox * s.strideW] += row[ox] }
                    }
                }
            }
        }
    }
}

private func depthwiseBackwardData(_ s: Conv2DShape, batch: Int, weights: UnsafePointer<Float>,
                                   dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, context: KernelContext) {
    let outW = s.outputWidth, outPlane = s.outputHeight * outW, inPlane = s.height * s.width
    let taps = s.kernelH * s.kernelW, channels = s.inputChannels
    context.pool.parallelFor(batch * channels) { range in
        for plane in range {
            let c = plane % channels
            let g = dy + plane * outPlane, d = dx + plane * inPlane
            for ky in 0..<s.kernelH {
                let rows = s.validRows(ky: ky)
                for kx in 0..<s.kernelW {
                    let columns = s.validColumns(kx: kx)
                    guard !columns.isEmpty else { continue }
                    let w = weights[c * taps + ky * s.kernelW + kx]
                    let ixBase = kx * s.dilationW - s.pads.left
                    for oy in rows {
                        let dst = d + (oy * s.strideH - s.pads.top + ky * s.dilationH) * s.width + ixBase
                        let src = g + oy * outW
                        if s.strideW == 1 {
                            for ox in columns { dst[ox] += w * src[ox] }
                        } else {
                            for ox in columns { dst[ox * s.strideW] += w * src[ox] }
                        }
                    }
                }
            }
        }
    }
}

private func depthwiseBackwardFilter(_ s: Conv2DShape, batch: Int, x: UnsafePointer<Float>,
                                     dy: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>, context: KernelContext) {
    let outW = s.outputWidth, outPlane = s.outputHeight * outW, inPlane = s.height * s.width
    let taps = s.kernelH * s.kernelW, channels = s.inputChannels
    context.pool.parallelFor(channels) { range in
        for c in range {
            for ky in 0..<s.kernelH {
                let rows = s.validRows(ky: ky)
                for kx in 0..<s.kernelW {
                    let columns = s.validColumns(kx: kx)
                    let ixBase = kx * s.dilationW - s.pads.left
                    var sum: Float = 0
                    if !columns.isEmpty {
                        for n in 0..<batch {
                            let g = dy + (n * channels + c) * outPlane, p = x + (n * channels + c) * inPlane
                            for oy in rows {
                                let src = p + (oy * s.strideH - s.pads.top + ky * s.dilationH) * s.width + ixBase
                                let grad = g + oy * outW
                                sum += vectorDot(grad + columns.lowerBound, src + columns.lowerBound * s.strideW,
                                                 stride: s.strideW, columns.count)
                            }
                        }
                    }
                    dw[c * taps + ky * s.kernelW + kx] = sum
                }
            }
        }
    }
}
