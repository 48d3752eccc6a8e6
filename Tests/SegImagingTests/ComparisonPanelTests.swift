import Testing
import SegImaging

@Suite("comparison panel")
struct ComparisonPanelTests {
    // A 2×1 RGB image; mask a says [0, 1], mask b says [0, 0]; alpha 0.5 blends as
    // (pixel + colour + 1) / 2 rounded down, i.e. (x·128 + c·128 + 128) >> 8.
    static let image = [UInt8]([30, 60, 90, 9, 12, 15])
    static let palette = [RGB(200, 0, 0), RGB(0, 100, 50)]

    @Test func panelsAreOverlayAOverlayBAndTheDisagreement() throws {
        let image = try Image(width: 2, height: 1, channels: 3, pixels: Self.image)
        let a = try Image(width: 2, height: 1, channels: 1, pixels: [0, 1])
        let b = try Image(width: 2, height: 1, channels: 1, pixels: [0, 0])
        let panel = try image.comparisonPanel(a, b, palette: Self.palette, alpha: 0.5)
        #expect(panel.width == 3 * 2 + 2 * 8 && panel.height == 1 && panel.channels == 3)
        let white = [UInt8](repeating: 255, count: 8 * 3)
        let overlayA: [UInt8] = [115, 30, 45, 5, 56, 33]       // class 0 red, class 1 green
        let overlayB: [UInt8] = [115, 30, 45, 105, 6, 8]       // class 0 red twice
        let disagreement: [UInt8] = [10, 20, 30, 255, 255, 255] // same: dimmed to a third; differ: white
        #expect(panel.pixels == overlayA + white + overlayB + white + disagreement)
    }

    @Test func refusesMasksOfAnotherSizeAndNonRGBImages() throws {
        let image = try Image(width: 2, height: 1, channels: 3, pixels: Self.image)
        let mask = try Image(width: 2, height: 1, channels: 1, pixels: [0, 1])
        let small = try Image(width: 1, height: 1, channels: 1, pixels: [0])
        #expect(throws: ImagingError.self) { try image.comparisonPanel(mask, small, palette: Self.palette, alpha: 0.5) }
        let gray = try Image(width: 2, height: 1, channels: 1, pixels: [1, 2])
        #expect(throws: ImagingError.self) { try gray.comparisonPanel(mask, mask, palette: Self.palette, alpha: 0.5) }
    }
}

@Suite("comparison panel titles")
struct ComparisonPanelTitleTests {
    @Test func titlesSitInAWhiteBandAboveEachPanel() throws {
        let w = 40, h = 3
        let image = try Image(width: w, height: h, channels: 3, pixels: [UInt8](repeating: 90, count: w * h * 3))
        let mask = try Image(width: w, height: h, channels: 1, pixels: [UInt8](repeating: 0, count: w * h))
        let plain = try image.comparisonPanel(mask, mask, palette: [RGB(200, 0, 0)], alpha: 0.5)
        let titled = try image.comparisonPanel(mask, mask, palette: [RGB(200, 0, 0)], alpha: 0.5, titles: ["A", "B", "DIFFERENCE"])
        let band = Image.comparisonTitleHeight
        #expect(titled.width == plain.width && titled.height == h + band)
        // Below the band: the untitled panel, pixel for pixel.
        #expect(Array(titled.pixels[(band * titled.width * 3)...]) == plain.pixels)
        // In the band: dark title pixels only where a title starts (x 2...), white elsewhere.
        func darkColumns(_ x0: Int, _ x1: Int) -> Int {
            (x0..<x1).filter { x in (0..<band).contains { y in titled.pixels[(y * titled.width + x) * 3] < 128 } }.count
        }
        let gap = Image.comparisonPanelGap
        #expect(darkColumns(0, w) > 0 && darkColumns(w + gap, 2 * w + gap) > 0 && darkColumns(2 * (w + gap), titled.width) > 0)
        #expect(darkColumns(w, w + gap) == 0)
        // "DIFFERENCE" (118 px at scale 2) is cut to "D.." (34 px) in the 40-pixel panel.
        let third = 2 * (w + gap) + 2
        #expect(darkColumns(third, third + Image.textWidth("D..", scale: 2)) == 18)   // D: 5 columns, each dot 2, at scale 2
        #expect(darkColumns(third + Image.textWidth("D..", scale: 2), titled.width) == 0)
        #expect(throws: ImagingError.self) { try image.comparisonPanel(mask, mask, palette: [RGB(1, 2, 3)], alpha: 0.5, titles: ["one"]) }
    }

    @Test func legendsUseTheLargerFont() throws {
        let legend = try Legend.render(classes: ["sky", "road"], palette: [RGB(1, 2, 3), RGB(4, 5, 6)])
        // Rows of 7·3 + 10 pixels between 8-pixel margins.
        #expect(Legend.defaultScale == 3 && legend.height == 2 * 8 + 2 * (7 * 3 + 10))
    }
}
