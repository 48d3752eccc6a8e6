/// What a bilinear GridSample reads outside the input: zeros, or the edge pixel (border).
package enum GridSamplePadding: Sendable {
    case zeros, border
}

/// Bilinear GridSample of NCHW `input` [N, C, H, W] at `grid` [N, Ho, Wo, 2] (x then y,
/// normalised to [-1, 1]) into `output` [N, C, Ho, Wo], as the ONNX reference computes it.
///
/// A grid coordinate g on an axis of d pixels maps to (g + 1)/2 · (d − 1) with `alignCorners`,
/// else ((g + 1) · d − 1)/2; the four taps around it weigh (1 − tx)(1 − ty) ... tx·ty. Zeros
/// padding gives an outside tap weight 0 (at offset 0, so an inf or NaN in pixel (0, 0) still
/// reaches it); border clamps the coordinate to [0, d − 1], which reads what clamping every tap
/// would. A NaN coordinate gives NaN.
///
/// The taps of one output row are computed once and shared by every channel (Mask2Former's
/// deformable attention samples Wo = points per query at C = head_dim channels); rows of all
/// images run in parallel.
package func gridSampleBilinear(input: UnsafePointer<Float>, batch: Int, channels: Int, inHeight: Int, inWidth: Int,
                                grid: UnsafePointer<Float>, outHeight: Int, outWidth: Int, output: UnsafeMutablePointer<Float>,
                                padding: GridSamplePadding, alignCorners: Bool, context: KernelContext = .shared) throws(KernelError) {
    for (name, value) in [("batch", batch), ("channels", channels), ("outHeight", outHeight), ("outWidth", outWidth)] {
        try require(value >= 0, name, value, "must be ≥ 0")
    }
    try require(inHeight >= 1 && inWidth >= 1, "input size", "\(inHeight)×\(inWidth)", "must be ≥ 1×1")
    try require(inHeight * inWidth <= Int(Int32.max), "input size", "\(inHeight)×\(inWidth)", "must have under 2^31 pixels per plane")
    let plane = inHeight * inWidth, outPlane = outHeight * outWidth
    let xAxis = GridAxis(size: inWidth, alignCorners: alignCorners, padding: padding)
    let yAxis = GridAxis(size: inHeight, alignCorners: alignCorners, padding: padding)
    context.pool.parallelFor(batch * outHeight) { rows in
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 4 * outWidth) { offsets in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * outWidth) { weights in
                let o = offsets.baseAddress!, w = weights.baseAddress!
                for row in rows {
                    let n = row / outHeight, oy = row % outHeight
                    let g = grid + (n * outHeight + oy) * outWidth * 2
                    for ox in 0..<outWidth {
                        let (x0, x1, wx0, wx1) = xAxis.taps(g[2 * ox])
                        let (y0, y1, wy0, wy1) = yAxis.taps(g[2 * ox + 1])
                        o[4 * ox] = Int32(y0 * inWidth + x0)
                        o[4 * ox + 1] = Int32(y0 * inWidth + x1)
                        o[4 * ox + 2] = Int32(y1 * inWidth + x0)
                        o[4 * ox + 3] = Int32(y1 * inWidth + x1)
                        w[4 * ox] = wy0 * wx0
                        w[4 * ox + 1] = wy0 * wx1
                        w[4 * ox + 2] = wy1 * wx0
                        w[4 * ox + 3] = wy1 * wx1
                    }
                    for c in 0..<channels {
                        let src = input + (n * channels + c) * plane
                        let dst = output + (n * channels + c) * outPlane + oy * outWidth
                        for ox in 0..<outWidth {
                            let k = 4 * ox
                            dst[ox] = w[k] * src[Int(o[k])] + w[k + 1] * src[Int(o[k + 1])]
                                + w[k + 2] * src[Int(o[k + 2])] + w[k + 3] * src[Int(o[k + 3])]
                        }
                    }
                }
            }
        }
    }
}

/// One spatial axis of a bilinear GridSample: coordinate mapping and the two taps.
struct GridAxis {
    let size: Int
    let scale: Float, shift: Float
    let padding: GridSamplePadding

    init(size: Int, alignCorners: Bool, padding: GridSamplePadding) {
        self.size = size
        self.padding = padding
        // v = g · scale + shift: (g + 1)/2 · (d − 1), or ((g + 1) · d − 1)/2.
        let d = Float(size)
        scale = alignCorners ? (d - 1) / 2 : d / 2
        shift = (d - 1) / 2
    }

    /// Indices (always inside the axis) and weights of the two taps of normalised coordinate g.
    @inline(__always)
    func taps(_ g: Float) -> (Int, Int, Float, Float) {
        var v = g * scale + shift
        guard !v.isNaN else { return (0, 0, .nan, .nan) }
        let last = Float(size - 1)
        switch padding {
        case .border:
            v = min(max(v, 0), last)
        case .zeros:
            // Past one pixel beyond either edge both taps are outside; keeps floor() in Int range.
            v = min(max(v, -2), last + 2)
        }
        let f = v.rounded(.down), t = v - f
        let i0 = Int(f), i1 = i0 + 1
        let in0 = i0 >= 0 && i0 < size, in1 = i1 >= 0 && i1 < size
        return (in0 ? i0 : (i0 < 0 ? 0 : size - 1), in1 ? i1 : (i1 < 0 ? 0 : size - 1), in0 ? 1 - t : 0, in1 ? t : 0)
    }
}
