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
