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
        // Per label: colour·a + 128 (the blend's constant half), and whether it is painted.
        var tint = [Int32](repeating: 0, count: 256 * 3)
        var painted = [Bool](repeating: false, count: 256)
        for l in 0..<256 where UInt8(l) != ignoreIndex && l < palette.count {
            let c = palette[l]
            tint[3 * l] = Int32(Int(c.r) * a + 128)
            tint[3 * l + 1] = Int32(Int(c.g) * a + 128)
            tint[3 * l + 2] = Int32(Int(c.b) * a + 128)
            painted[l] = true
        }
        let keep = Int32(256 - a), ch = channels, w = width
        var out = [UInt8](repeating: 0, count: width * height * outCh)
        pixels.withUnsafeBufferPointer { src in
            mask.pixels.withUnsafeBufferPointer { labels in
                out.withUnsafeMutableBufferPointer { dst in
                    tint.withUnsafeBufferPointer { tint in
                        painted.withUnsafeBufferPointer { painted in
                            // Bands write disjoint rows of `out`.
                            nonisolated(unsafe) let s = src.baseAddress!, m = labels.baseAddress!, d = dst.baseAddress!
                            nonisolated(unsafe) let t = tint.baseAddress!, p = painted.baseAddress!
                            Self.forEachBand(height: height, width: width, threads: 2) { rows in
                                for i in rows.lowerBound * w..<rows.upperBound * w {
                                    let si = i * ch, di = i * outCh
                                    let r = s[si], g = ch == 1 ? r : s[si + 1], b = ch == 1 ? r : s[si + 2]
                                    let l = Int(m[i])
                                    if p[l] {
                                        d[di] = UInt8(truncatingIfNeeded: (Int32(r) * keep + t[3 * l]) >> 8)
                                        d[di + 1] = UInt8(truncatingIfNeeded: (Int32(g) * keep + t[3 * l + 1]) >> 8)
                                        d[di + 2] = UInt8(truncatingIfNeeded: (Int32(b) * keep + t[3 * l + 2]) >> 8)
                                    } else {
                                        d[di] = r; d[di + 1] = g; d[di + 2] = b
                                    }
                                    if outCh == 4 { d[di + 3] = s[si + 3] }
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
