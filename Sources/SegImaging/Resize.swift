/// Resizing: bilinear for images, nearest-neighbour for label maps.
///
/// Bilinear uses the half-pixel convention (`align_corners=false`), as
/// cv2.INTER_LINEAR, PyTorch `interpolate(..., align_corners=False)` and
/// PaddleSeg's transforms: source x = (dx + 0.5) · srcW / dstW − 0.5, clamped
/// to the image at both ends (edge pixels repeat). Weights are quantized to
/// 1/2048 and the result rounded as OpenCV's fixed-point 8-bit path does, so
/// outputs are within ±1 of cv2 (whose SIMD path rounds slightly differently).
package enum NearestRule: Sendable, Equatable {
    /// source = floor(dx · srcW / dstW): cv2.INTER_NEAREST, what PaddleSeg uses for labels.
    case floor
    /// source = floor((dx + 0.5) · srcW / dstW): PIL's NEAREST, cv2.INTER_NEAREST_EXACT.
    case halfPixel
}

/// A rectangle of a resize's output, in output pixels.
package struct ResizeRegion: Sendable, Equatable {
    package var x: Int
    package var y: Int
    package var width: Int
    package var height: Int

    package init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    func isWhole(width w: Int, height h: Int) -> Bool { x == 0 && y == 0 && width == w && height == h }

    func check(width w: Int, height h: Int) throws(ImagingError) {
        guard x >= 0, y >= 0, width >= 1, height >= 1, x <= w - width, y <= h - height else {
            throw ImagingError(.invalidArgument, format: "resize",
                               "region \(width)x\(height) at (\(x), \(y)) is not inside the \(w)x\(h) output")
        }
    }
}

extension Image {
    static let coefBits = 11
    static let coefScale = 1 << coefBits

    /// Bilinear resize to `width` × `height` (all channels).
    package func resizedBilinear(width dw: Int, height dh: Int) throws(ImagingError) -> Image {
        try resizedBilinear(width: dw, height: dh, region: ResizeRegion(x: 0, y: 0, width: dw, height: dh))
    }

    /// Only `region` of the `width` × `height` bilinear resize: the same pixels as resizing the
    /// whole image and cropping, for the cost of the region alone (a training crop of an
    /// upscaled image).
    package func resizedBilinear(width fullW: Int, height fullH: Int, region r: ResizeRegion) throws(ImagingError) -> Image {
        try Image.validate(width: fullW, height: fullH, channels: channels, format: "resize")
        try r.check(width: fullW, height: fullH)
        if fullW == width && fullH == height && r.isWhole(width: fullW, height: fullH) { return self }
        let xs = Array(Self.linearTaps(src: width, dst: fullW)[r.x..<r.x + r.width])
        let ys = Array(Self.linearTaps(src: height, dst: fullH)[r.y..<r.y + r.height])
        let dw = r.width, dh = r.height
        let ch = channels
        let srcRow = width * ch
        var out = [UInt8](repeating: 0, count: dw * dh * ch)
        // Horizontal pass per source row, cached: rows are visited in nondecreasing order,
        // so two slots hold every row the vertical blend needs.
        var cacheY = [-1, -1]
        var cache = [[Int](repeating: 0, count: dw * ch), [Int](repeating: 0, count: dw * ch)]
        var nextSlot = 0
        func hrow(_ y: Int) -> Int {
            if cacheY[0] == y { return 0 }
            if cacheY[1] == y { return 1 }
            let slot = nextSlot
            nextSlot ^= 1
            cacheY[slot] = y
            let base = y * srcRow
            for dx in 0..<dw {
                let (x0, x1, a0, a1) = xs[dx]
                for c in 0..<ch {
                    cache[slot][dx * ch + c] = Int(pixels[base + x0 * ch + c]) * a0 + Int(pixels[base + x1 * ch + c]) * a1
                }
            }
            return slot
        }
        let shift = 2 * Self.coefBits
        for dy in 0..<dh {
            let (y0, y1, b0, b1) = ys[dy]
            let s0 = hrow(y0), s1 = hrow(y1)
            let o = dy * dw * ch
            for i in 0..<(dw * ch) {
                let v = (cache[s0][i] * b0 + cache[s1][i] * b1 + (1 << (shift - 1))) >> shift
                out[o + i] = UInt8(min(255, max(0, v)))
            }
        }
        return Image(unchecked: dw, dh, ch, out)
    }

    /// Nearest-neighbour resize; never invents values, so it is the one for label maps.
    package func resizedNearest(width dw: Int, height dh: Int, rule: NearestRule = .floor) throws(ImagingError) -> Image {
        try resizedNearest(width: dw, height: dh, region: ResizeRegion(x: 0, y: 0, width: dw, height: dh), rule: rule)
    }

    /// Only `region` of the `width` × `height` nearest-neighbour resize (as `resizedBilinear`'s).
    package func resizedNearest(width fullW: Int, height fullH: Int, region r: ResizeRegion,
                                rule: NearestRule = .floor) throws(ImagingError) -> Image {
        try Image.validate(width: fullW, height: fullH, channels: channels, format: "resize")
        try r.check(width: fullW, height: fullH)
        if fullW == width && fullH == height && r.isWhole(width: fullW, height: fullH) { return self }
        func src(_ d: Int, _ s: Int, _ n: Int) -> Int {
            let v = rule == .floor ? d * s / n : (2 * d + 1) * s / (2 * n)
            return min(v, s - 1)
        }
        let dw = r.width, dh = r.height
        let sx = (r.x..<r.x + dw).map { src($0, width, fullW) }
        let ch = channels
        var out = [UInt8](repeating: 0, count: dw * dh * ch)
        for dy in 0..<dh {
            let base = src(r.y + dy, height, fullH) * width * ch
            let o = dy * dw * ch
            for dx in 0..<dw {
                for c in 0..<ch { out[o + dx * ch + c] = pixels[base + sx[dx] * ch + c] }
            }
        }
        return Image(unchecked: dw, dh, ch, out)
    }

    /// Per destination index: the two source indices and their 11-bit weights.
    static func linearTaps(src: Int, dst: Int) -> [(Int, Int, Int, Int)] {
        let scale = Double(src) / Double(dst)
        return (0..<dst).map { d in
            var f = (Double(d) + 0.5) * scale - 0.5
            var i = Int(f.rounded(.down))
            f -= Double(i)
            if i < 0 {
                i = 0
                f = 0
            }
            if i >= src - 1 {
                i = src - 1
                f = 0
            }
            let a1 = Int((f * Double(coefScale)).rounded(.toNearestOrEven))
            return (i, min(i + 1, src - 1), coefScale - a1, a1)
        }
    }

    /// CHW float planes, (sample · scale − mean[c]) / std[c] per channel: the usual
    /// network input (PaddleSeg: scale 1/255, mean = std = 0.5).
    package func normalizedCHW(mean: [Float], std: [Float], scale: Float = 1.0 / 255.0) throws(ImagingError) -> [Float] {
        var out = [Float](repeating: 0, count: width * height * channels)
        try out.withUnsafeMutableBufferPointer { (o) throws(ImagingError) in try normalizeCHW(into: o, mean: mean, std: std, scale: scale) }
        return out
    }

    /// `normalizedCHW` written into `out` (exactly channels × height × width floats): a model's
    /// input slot, so a segment request fills it without two copies of a fresh buffer. `bgr`
    /// writes channel c (normalised with mean[c] and std[c]) to plane 2 − c, for networks
    /// trained on BGR (OpenCV) input.
    package func normalizeCHW(into out: UnsafeMutableBufferPointer<Float>, mean: [Float], std: [Float], scale: Float = 1.0 / 255.0,
                              bgr: Bool = false) throws(ImagingError) {
        guard mean.count == channels, std.count == channels, !std.contains(0) else {
            throw ImagingError(.invalidArgument, format: "normalize",
                               "need \(channels) means and non-zero stds, got \(mean.count) and \(std.count)")
        }
        let ch = channels, n = width * height
        guard out.count == n * ch, let d = out.baseAddress else {
            throw ImagingError(.invalidArgument, format: "normalize", "the output holds \(out.count) floats, not \(ch)×\(height)×\(width)")
        }
        guard !bgr || ch == 3 else {
            throw ImagingError(.invalidArgument, format: "normalize", "BGR order needs 3 channels, not \(ch)")
        }
        // One table per channel: 256 possible samples, each normalised exactly as the formula
        // says; the loop is then a lookup per sample, on two row bands at once for large images.
        var tables = [Float](repeating: 0, count: 256 * ch)
        for c in 0..<ch {
            let m = mean[c], inv = 1 / std[c]
            for v in 0..<256 { tables[c * 256 + v] = (Float(v) * scale - m) * inv }
        }
        pixels.withUnsafeBufferPointer { src in
            tables.withUnsafeBufferPointer { lut in
                // Bands write disjoint pixel ranges of every plane.
                nonisolated(unsafe) let s = src.baseAddress!, t = lut.baseAddress!, d = d
                let w = width
                Self.forEachBand(height: height, width: width, threads: 2) { rows in
                    for c in 0..<ch {
                        let table = t + c * 256, plane = d + (bgr ? 2 - c : c) * n
                        for i in rows.lowerBound * w..<rows.upperBound * w { plane[i] = table[Int(s[i * ch + c])] }
                    }
                }
            }
        }
    }
}
