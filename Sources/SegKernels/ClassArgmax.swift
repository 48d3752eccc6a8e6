/// Class ids from per-class score planes: the last step of every segmentation request.
///
/// `scores` holds `classes` planes of `inHeight`×`inWidth`; the mask is `outHeight`×`outWidth`.
/// When the sizes differ the planes are resized bilinearly on the fly (the runtime's `resize`
/// axes and blend, so a graph's Resize and this step agree), one output row at a time: a thread
/// holds two interpolated rows per class, never the full-resolution `[classes, outH, outW]`
/// scores (a 8000×8000 image with 11 classes would need 2.8 GB for them).
/// The first maximum wins, as numpy's and PyTorch's argmax; NaN never wins.
package func classArgmax(scores: UnsafePointer<Float>, classes: Int, inHeight: Int, inWidth: Int,
                        into mask: UnsafeMutablePointer<UInt8>, outHeight: Int, outWidth: Int,
                        coordinates: ResizeCoordinates = .halfPixel, context: KernelContext = .shared) throws(KernelError) {
    try require((1...256).contains(classes), "classes", classes, "must be 1...256 for an 8-bit mask")
    for (name, value) in [("inHeight", inHeight), ("inWidth", inWidth), ("outHeight", outHeight), ("outWidth", outWidth)] {
        try require(value >= 1, name, value, "must be ≥ 1")
    }
    if inHeight == outHeight && inWidth == outWidth {
        let n = outHeight * outWidth
        // Rows of 64 pixels at least per task: below that the hand-off costs more than the work.
        context.pool.parallelFor((n + 63) / 64) { range in
            let start = range.lowerBound * 64, end = min(range.upperBound * 64, n)
            argmaxSpan(scores + start, planeStride: n, classes: classes, count: end - start, into: mask + start)
        }
        return
    }
    let rows = resizeTaps(.linear, coordinates, scale: Float(outHeight) / Float(inHeight), inLength: inHeight, outLength: outHeight)
    let columns = resizeTaps(.linear, coordinates, scale: Float(outWidth) / Float(inWidth), inLength: inWidth, outLength: outWidth)
    let plane = inHeight * inWidth
    context.pool.parallelFor(outHeight) { range in
        // Per class: the horizontally interpolated input rows r0 and r1 of the current output row.
        let rowFloats = outWidth
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * classes * rowFloats) { buffer in
            let base = buffer.baseAddress!
            var cached = (-1, -1)
            for oy in range {
                let (r0, r1, wy) = rows[oy]
                if cached != (r0, r1) {
                    for k in 0..<classes {
                        let top = base + 2 * k * rowFloats, bottom = top + rowFloats
                        let src = scores + k * plane
                        if cached.1 == r0 {
                            // One input row further down: the old bottom row is the new top.
                            top.update(from: bottom, count: outWidth)
                        } else {
                            interpolateRow(src + r0 * inWidth, columns, into: top)
                        }
                        interpolateRow(src + r1 * inWidth, columns, into: bottom)
                    }
                    cached = (r0, r1)
                }
                // Blend rows and compare classes eight columns at a time, all in registers.
                let out = mask + oy * outWidth
                var x = 0
                while x + 8 <= outWidth {
                    var best = SIMD8<Float>(), id = SIMD8<Int32>(repeating: 0)
                    for k in 0..<classes {
                        let top = base + 2 * k * rowFloats + x
                        let t = load8(top)
                        let v = t + (load8(top + rowFloats) - t) * wy
                        if k == 0 {
                            best = v
                        } else {
                            let better = v .> best
                            best.replace(with: v, where: better)
                            id.replace(with: Int32(k), where: better)
                        }
                    }
                    for lane in 0..<8 { out[x + lane] = UInt8(truncatingIfNeeded: id[lane]) }
                    x += 8
                }
                while x < outWidth {
                    var best: Float = 0, id = 0
                    for k in 0..<classes {
                        let top = base + 2 * k * rowFloats + x
                        let v = top[0] + (top[rowFloats] - top[0]) * wy
                        if k == 0 || v > best { best = v; id = k }
                    }
                    out[x] = UInt8(truncatingIfNeeded: id)
                    x += 1
                }
            }
        }
    }
}

/// `a + (b − a)·w` per output column, from one input row.
private func interpolateRow(_ row: UnsafePointer<Float>, _ columns: [(Int, Int, Float)], into dst: UnsafeMutablePointer<Float>) {
    for (ox, (c0, c1, w)) in columns.enumerated() {
        let a = row[c0]
        dst[ox] = a + (row[c1] - a) * w
    }
}

/// Argmax across `classes` planes `planeStride` apart, over `count` consecutive pixels.
private func argmaxSpan(_ scores: UnsafePointer<Float>, planeStride: Int, classes: Int, count: Int, into out: UnsafeMutablePointer<UInt8>) {
    var i = 0
    while i + 8 <= count {
        var best = load8(scores + i)
        var id = SIMD8<Int32>(repeating: 0)
        for k in 1..<max(classes, 1) {
            let v = load8(scores + k * planeStride + i)
            let better = v .> best
            best.replace(with: v, where: better)
            id.replace(with: Int32(k), where: better)
        }
        for lane in 0..<8 { out[i + lane] = UInt8(truncatingIfNeeded: id[lane]) }
        i += 8
    }
    while i < count {
        var best = scores[i], id = 0
        for k in 1..<max(classes, 1) where scores[k * planeStride + i] > best { best = scores[k * planeStride + i]; id = k }
        out[i] = UInt8(truncatingIfNeeded: id)
        i += 1
    }
}
