/// ONNX Resize `coordinate_transformation_mode`: how output coordinate x maps to input x'.
/// `scale` is output/input length (or the model's `scales` value when it has one).
package enum ResizeCoordinates: Sendable {
    /// x' = (x + 0.5) / scale − 0.5
    case halfPixel
    /// as halfPixel, but x' = 0 when the output length is 1
    case pytorchHalfPixel
    /// x' = x · (inLen − 1) / (outLen − 1), 0 when outLen is 1
    case alignCorners
    /// x' = x / scale
    case asymmetric

    func source(_ x: Int, scale: Float, inLength: Int, outLength: Int) -> Float {
        let x = Float(x)
        switch self {
        case .halfPixel: return (x + 0.5) / scale - 0.5
        case .pytorchHalfPixel: return outLength > 1 ? (x + 0.5) / scale - 0.5 : 0
        case .alignCorners: return outLength > 1 ? x * Float(inLength - 1) / Float(outLength - 1) : 0
        case .asymmetric: return x / scale
        }
    }
}

package enum ResizeMode: Sendable {
    /// Bilinear: x' clamped to [0, len−1], blend of floor(x') and floor(x')+1 (clamped).
    case linear
    /// Nearest with `nearest_mode` floor (segmentation exports pair it with asymmetric).
    case nearestFloor
    /// Nearest with `nearest_mode` round_prefer_floor (ties go down).
    case nearestRoundPreferFloor
}

/// Resizes NCHW [planes = N·C, inH, inW] → [planes, outH, outW]. `scales` defaults to
/// (outH/inH, outW/inW). Linear mode interpolates each needed input row horizontally once
/// (two cached rows) and blends rows with 8-lane vectors.
package func resize(_ mode: ResizeMode, coordinates: ResizeCoordinates, input: UnsafePointer<Float>, planes: Int,
                   inHeight: Int, inWidth: Int, output: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int,
                   scales: (Float, Float)? = nil, context: KernelContext = .shared) throws(KernelError) {
    for (name, value) in [("inHeight", inHeight), ("inWidth", inWidth), ("outHeight", outHeight), ("outWidth", outWidth)] {
        try require(value >= 1, name, value, "must be ≥ 1")
    }
    try require(planes >= 0, "planes", planes, "must be ≥ 0")
    let scaleH = scales?.0 ?? Float(outHeight) / Float(inHeight)
    let scaleW = scales?.1 ?? Float(outWidth) / Float(inWidth)
    try require(scaleH > 0 && scaleW > 0, "scales", "\(scaleH), \(scaleW)", "must be > 0")
    let rows = resizeTaps(mode, coordinates, scale: scaleH, inLength: inHeight, outLength: outHeight)
    let columns = resizeTaps(mode, coordinates, scale: scaleW, inLength: inWidth, outLength: outWidth)
    context.pool.parallelFor(planes) { range in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * outWidth + 16) { buffer in
            var top = buffer.baseAddress!, bottom = top + outWidth
            for p in range {
                let x = input + p * inHeight * inWidth
                let y = output + p * outHeight * outWidth
                var cached = (-1, -1)
                for oy in 0..<outHeight {
                    let (r0, r1, wy) = rows[oy]
                    let out = y + oy * outWidth
                    if mode != .linear {
                        let src = x + r0 * inWidth
                        for ox in 0..<outWidth { out[ox] = src[columns[ox].0] }
                        continue
                    }
                    if cached != (r0, r1) {
                        if cached.1 == r0 {
                            // Moving down one input row: the old bottom row is the new top.
                            swap(&top, &bottom)
                        } else {
                            horizontal(x + r0 * inWidth, columns, into: top)
                        }
                        horizontal(x + r1 * inWidth, columns, into: bottom)
                        cached = (r0, r1)
                    }
                    var ox = 0
                    while ox + 8 <= outWidth {
                        let t = load8(top + ox)
                        store8(t + (load8(bottom + ox) - t) * wy, out + ox)
                        ox += 8
                    }
                    while ox < outWidth { out[ox] = top[ox] + (bottom[ox] - top[ox]) * wy; ox += 1 }
                }
            }
        }
    }
}

extension ResizeCoordinates {
    /// From ONNX `coordinate_transformation_mode`; nil for modes the kernels lack.
    package init?(onnx name: String) {
        switch name {
        case "half_pixel": self = .halfPixel
        case "pytorch_half_pixel": self = .pytorchHalfPixel
        case "align_corners": self = .alignCorners
        case "asymmetric": self = .asymmetric
        default: return nil
        }
    }
}

extension ResizeMode {
    /// From ONNX `mode` and `nearest_mode`; nil for combinations the kernels lack.
    package init?(onnx mode: String, nearestMode: String) {
        switch (mode, nearestMode) {
        case ("linear", _), ("bilinear", _): self = .linear
        case ("nearest", "floor"): self = .nearestFloor
        case ("nearest", "round_prefer_floor"): self = .nearestRoundPreferFloor
        default: return nil
        }
    }
}

/// Per output index: (first source index, second source index, weight of the second).
package func resizeTaps(_ mode: ResizeMode, _ coordinates: ResizeCoordinates, scale: Float,
                  inLength: Int, outLength: Int) -> [(Int, Int, Float)] {
    (0..<outLength).map { i in
        let x = coordinates.source(i, scale: scale, inLength: inLength, outLength: outLength)
        switch mode {
        case .linear:
            let clamped = min(max(x, 0), Float(inLength - 1))
            let i0 = Int(clamped.rounded(.down))
            return (i0, min(i0 + 1, inLength - 1), clamped - Float(i0))
        case .nearestFloor:
            let i0 = min(max(Int(x.rounded(.down)), 0), inLength - 1)
            return (i0, i0, 0)
        case .nearestRoundPreferFloor:
            let floor = x.rounded(.down)
            let rounded = x - floor == 0.5 ? floor : x.rounded(.toNearestOrAwayFromZero)
            let i0 = min(max(Int(rounded), 0), inLength - 1)
            return (i0, i0, 0)
        }
    }
}

private func horizontal(_ row: UnsafePointer<Float>, _ columns: [(Int, Int, Float)], into dst: UnsafeMutablePointer<Float>) {
    for (ox, (c0, c1, w)) in columns.enumerated() {
        let a = row[c0]
        dst[ox] = a + (row[c1] - a) * w
    }
}
