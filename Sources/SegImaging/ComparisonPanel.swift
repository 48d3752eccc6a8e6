extension Image {
    /// Gap, in white pixels, between the panels of `comparisonPanel`.
    package static let comparisonPanelGap = 8

    /// Two masks of this (RGB) image side by side, for looking at where two models disagree:
    /// mask `a`'s overlay, mask `b`'s overlay, then a third panel with the pixels where they
    /// differ in white on the image dimmed to a third. Panels are `comparisonPanelGap` white
    /// pixels apart; the result is `3·width + 2·gap` wide.
    package func comparisonPanel(_ a: Image, _ b: Image, palette: [RGB], alpha: Double) throws(ImagingError) -> Image {
        guard channels == 3 else {
            throw ImagingError(.invalidArgument, format: "comparison panel", "image must be RGB (3 channels), not \(channels)")
        }
        for (label, mask) in [("a", a), ("b", b)] where mask.width != width || mask.height != height || mask.channels != 1 {
            throw ImagingError(.invalidArgument, format: "comparison panel",
                               "mask \(label) is \(mask.width)x\(mask.height)x\(mask.channels) but the image is \(width)x\(height) (masks have 1 channel)")
        }
        let overlayA = try overlaying(mask: a, palette: palette, alpha: alpha)
        let overlayB = try overlaying(mask: b, palette: palette, alpha: alpha)
        let w = width, h = height, gap = Self.comparisonPanelGap
        var diff = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            let differs = a.pixels[i] != b.pixels[i]
            for c in 0..<3 { diff[i * 3 + c] = differs ? 255 : pixels[i * 3 + c] / 3 }
        }
        let panels = [overlayA.pixels, overlayB.pixels, diff]
        let total = 3 * w + 2 * gap
        var out = [UInt8](repeating: 255, count: total * h * 3)
        for (p, px) in panels.enumerated() {
            let x0 = p * (w + gap)
            for y in 0..<h {
                let dst = (y * total + x0) * 3, src = y * w * 3
                out.replaceSubrange(dst..<(dst + w * 3), with: px[src..<(src + w * 3)])
            }
        }
        return try Image(width: total, height: h, channels: 3, pixels: out)
    }
}
