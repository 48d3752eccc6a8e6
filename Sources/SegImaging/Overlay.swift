/// Palettes and mask visualisation.
package enum Palette {
    /// The PASCAL VOC colour map (bits of the class index spread over R, G, B
    /// from the most significant bit down), which PaddleSeg uses for pseudo-colour masks.
    package static func voc(count: Int = 256) -> [RGB] {
        (0..<max(0, min(count, 256))).map { i in
            var c = i, r = 0, g = 0, b = 0
            for j in 0..<8 {
                r |= (c & 1) << (7 - j)
                g |= ((c >> 1) & 1) << (7 - j)
                b |= ((c >> 2) & 1) << (7 - j)
                c >>= 3
            }
            return RGB(UInt8(r), UInt8(g), UInt8(b))
        }
    }
}

extension Palette {
    /// The default for classes without colours: VOC's colour map from its second entry, so
    /// class 0 (road, sky or background in most datasets) is dark red, not black, and stays
    /// visible in masks, overlays and legends; every later class keeps VOC's order.
    package static func visible(count: Int) -> [RGB] {
        Array(voc(count: min(count, 255) + 1).dropFirst())
    }
}

extension Image {
    /// An RGB picture of a label map: each index takes its palette colour;
    /// indices without one (void 255, or beyond the palette) become `unlabeled`.
    package func colorized(palette: [RGB], unlabeled: RGB = RGB(0, 0, 0)) throws(ImagingError) -> Image {
        guard channels == 1 else {
            throw ImagingError(.invalidArgument, format: "overlay", "a label map has 1 channel, not \(channels)")
        }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            let l = Int(pixels[i])
            let c = l < palette.count ? palette[l] : unlabeled
            out[3 * i] = c.r
            out[3 * i + 1] = c.g
            out[3 * i + 2] = c.b
        }
        return Image(unchecked: width, height, 3, out)
    }

    /// Blends the palette colour of each label onto this image:
    /// out = (in · (256 − a) + colour · a + 128) >> 8 with a = round(alpha · 256),
    /// i.e. `(1 − alpha) · image + alpha · colour` in 8-bit fixed point.
    /// Pixels whose label is `ignoreIndex` or has no palette entry are left as they are.
    /// Gray images come out RGB; RGBA keeps its alpha channel.
    package func overlaying(mask: Image, palette: [RGB], alpha: Double = 0.5,
                           ignoreIndex: UInt8? = 255) throws(ImagingError) -> Image {
        guard mask.channels == 1 else {
            throw ImagingError(.invalidArgument, format: "overlay", "mask must have 1 channel, not \(mask.channels)")
        }
        guard mask.width == width, mask.height == height else {
            throw ImagingError(.invalidArgument, format: "overlay",
                               "mask is \(mask.width)x\(mask.height) but the image is \(width)x\(height); resize it (nearest) first")
        }
        guard alpha >= 0, alpha <= 1 else {
            throw ImagingError(.invalidArgument, format: "overlay", "alpha \(alpha) is outside 0...1")
        }
        let a = Int((alpha * 256).rounded())
        let outCh = channels == 4 ? 4 : 3
        // Per label: the weight kept of the image and colour·a + 128 (the blend's constant
        // half). A label left unpainted keeps all of it and adds nothing: (x·256 + 0) >> 8 = x,
        // so every pixel takes the same branch-free path.
        var keep = [Int32](repeating: 256, count: 256)
        var tint = [Int32](repeating: 0, count: 256 * 3)
        for l in 0..<256 where UInt8(l) != ignoreIndex && l < palette.count {
            let c = palette[l]
            keep[l] = Int32(256 - a)
            tint[3 * l] = Int32(Int(c.r) * a + 128)
            tint[3 * l + 1] = Int32(Int(c.g) * a + 128)
            tint[3 * l + 2] = Int32(Int(c.b) * a + 128)
        }
        let ch = channels, w = width
        var out = [UInt8](repeating: 0, count: width * height * outCh)
        pixels.withUnsafeBufferPointer { src in
            mask.pixels.withUnsafeBufferPointer { labels in
                out.withUnsafeMutableBufferPointer { dst in
                    keep.withUnsafeBufferPointer { keep in
                        tint.withUnsafeBufferPointer { tint in
                            // Bands write disjoint rows of `out`.
                            nonisolated(unsafe) let s = src.baseAddress!, m = labels.baseAddress!, d = dst.baseAddress!
                            nonisolated(unsafe) let t = tint.baseAddress!, k = keep.baseAddress!
                            @Sendable @inline(__always) func blend(_ i: Int, _ r: UInt8, _ g: UInt8, _ b: UInt8) {
                                let l = Int(m[i]), f = k[l], di = i &* outCh
                                d[di] = UInt8(truncatingIfNeeded: (Int32(r) &* f &+ t[3 &* l]) &>> 8)
                                d[di &+ 1] = UInt8(truncatingIfNeeded: (Int32(g) &* f &+ t[3 &* l &+ 1]) &>> 8)
                                d[di &+ 2] = UInt8(truncatingIfNeeded: (Int32(b) &* f &+ t[3 &* l &+ 2]) &>> 8)
                            }
                            Self.forEachBand(height: height, width: width, threads: 2) { rows in
                                let pixels = rows.lowerBound * w..<rows.upperBound * w
                                switch ch {
                                case 3:
                                    for i in pixels { blend(i, s[3 &* i], s[3 &* i &+ 1], s[3 &* i &+ 2]) }
                                case 1:
                                    for i in pixels { blend(i, s[i], s[i], s[i]) }
                                default:
                                    for i in pixels {
                                        // RGBA, or gray with alpha (its alpha is dropped, as for gray).
                                        let si = i &* ch
                                        if ch >= 3 { blend(i, s[si], s[si &+ 1], s[si &+ 2]) } else { blend(i, s[si], s[si], s[si]) }
                                        if outCh == 4 { d[i &* 4 &+ 3] = s[si &+ 3] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Image(unchecked: width, height, outCh, out)
    }
}
