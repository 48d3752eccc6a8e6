import SegImaging
import Testing

@Suite struct LineChartTests {
    /// Points land where the axes put them: the first series' lowest point on the bottom of
    /// the plot area's padded range, its highest near the top; both in the series colour.
    @Test func pointsAreDrawnInTheirColoursAtTheirPlaces() throws {
        let red = RGB(200, 0, 0), blue = RGB(0, 0, 200)
        let chart = LineChart(title: "t", xLabel: "epoch",
                              left: .init(name: "loss", points: [(1, 2.0), (3, 1.0)], color: red),
                              right: .init(name: "miou", points: [(2, 0.5)], color: blue))
        let image = try chart.render()
        #expect(image.width == 720 && image.height == 400)
        func pixel(_ x: Int, _ y: Int) -> RGB {
            let i = (y * image.width + x) * 3
            return RGB(image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
        }
        // x: 1 → 80 (left edge), 3 → 640 (right edge); y: range [1 − 0.08, 2 + 0.08] over rows 50...340.
        let yOf = { (v: Double) in 340 - Int((v - 0.92) / 1.16 * 290) }
        #expect(pixel(80, yOf(2.0)) == red)
        #expect(pixel(640, yOf(1.0)) == red)
        // The single right-axis point sits mid-way in x.
        let right = (0..<image.height).filter { pixel(360, $0) == blue }
        #expect(!right.isEmpty)
        #expect(LineChart.format(0.5583) == "0.558" && LineChart.format(12.34) == "12.3" && LineChart.format(-0.25) == "-0.250")
    }
}
