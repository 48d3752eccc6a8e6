extension Image {
    /// Gap, in white pixels, between the panels of `comparisonPanel`.
    package static let comparisonPanelGap = 8
    /// Scale of the title font (5×7 glyphs drawn `scale`×`scale`).
    package static let comparisonTitleScale = 2
    /// Height of the title band: the glyphs with 5 pixels above and below.
    package static let comparisonTitleHeight = BitmapFont.height * comparisonTitleScale + 10

    /// Two masks of this (RGB) image side by side, for looking at where two models disagree:
    /// mask `a`'s overlay, mask `b`'s overlay, then a third panel with the pixels where they
    /// differ in white on the image dimmed to a third. Panels are `comparisonPanelGap` white
    /// pixels apart; the result is `3·width + 2·gap` wide. With `titles` (one per panel), a
    /// white band `comparisonTitleHeight` high above the panels carries them in our bitmap
    /// font, cut to the panel's width.
    package func comparisonPanel(_ a: Image, _ b: Image, palette: [RGB], alpha: Double, titles: [String]? = nil) throws(ImagingError) -> Image {
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
        if let titles, titles.count != 3 {
            throw ImagingError(.invalidArgument, format: "comparison panel", "expected 3 titles (a, b, difference), got \(titles.count)")
        }
        let top = titles == nil ? 0 : Self.comparisonTitleHeight
        let total = 3 * w + 2 * gap
        var out = [UInt8](repeating: 255, count: total * (h + top) * 3)
        for (p, px) in panels.enumerated() {
            let x0 = p * (w + gap)
            for y in 0..<h {
                let dst = ((y + top) * total + x0) * 3, src = y * w * 3
                out.replaceSubrange(dst..<(dst + w * 3), with: px[src..<(src + w * 3)])
            }
        }
        var image = try Image(width: total, height: h + top, channels: 3, pixels: out)
        for (p, title) in (titles ?? []).enumerated() {
            let scale = Self.comparisonTitleScale
            image.draw(text: Self.fitted(title, width: w, scale: scale), x: p * (w + gap) + 2, y: (top - BitmapFont.height * scale) / 2,
                       scale: scale, color: RGB(20, 20, 20))
        }
        return image
    }

    /// `text` cut (ending in "..") to what fits `width` pixels at `scale`, less a 2-pixel margin.
    static func fitted(_ text: String, width: Int, scale: Int) -> String {
        let fits = max((width - 2 + scale) / ((BitmapFont.width + 1) * scale), 0)
        guard text.count > fits else { return text }
        return fits > 2 ? String(text.prefix(fits - 2)) + ".." : String(text.prefix(fits))
    }
}
