/// A scatter plot as a PNG-ready image: points in groups (each its own colour and key entry),
/// a highlighted front joined by a line, a marked chosen point, and budget lines drawn across
/// the plot. Enough for an auto-compression search's Pareto plot with no plotting library.
package struct ScatterChart: Sendable {
    /// A named, coloured set of points: the line chart's series, drawn unjoined.
    package typealias Group = LineChart.Series

    package var title: String
    package var xLabel: String
    package var yLabel: String
    package var groups: [Group]
    /// Points joined in x order (the Pareto front).
    package var front: [(x: Double, y: Double)] = []
    package var chosen: (x: Double, y: Double)? = nil
    /// A vertical budget line at x (e.g. the latency budget) and a horizontal one at y (the
    /// accuracy floor), each labelled.
    package var xBudget: (value: Double, label: String)? = nil
    package var yBudget: (value: Double, label: String)? = nil
    package var width = 760
    package var height = 480

    package init(title: String, xLabel: String, yLabel: String, groups: [Group]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.groups = groups
    }

    package func render() throws(ImagingError) -> Image {
        var image = try Image(width: width, height: height, channels: 3, fill: 255)
        let scale = 2, text = RGB(30, 30, 30), grid = RGB(225, 225, 225), budget = RGB(200, 40, 40)
        let plot = (x0: 90, y0: 60, x1: width - 30, y1: height - 90)
        image.draw(text: title, x: (width - Image.textWidth(title, scale: scale)) / 2, y: 12, scale: scale, color: text)
        var xs = groups.flatMap { $0.points.map(\.x) }, ys = groups.flatMap { $0.points.map(\.y) }
        if let b = xBudget { xs.append(b.value) }
        if let b = yBudget { ys.append(b.value) }
        xs = xs.filter(\.isFinite)
        ys = ys.filter(\.isFinite)
        func padded(_ v: [Double]) -> (Double, Double) {
            let lo = v.min() ?? 0, hi = v.max() ?? 1
            let pad = max((hi - lo) * 0.08, 1e-3)
            return (lo - pad, hi + pad)
        }
        let xr = padded(xs), yr = padded(ys)
        func px(_ x: Double) -> Int { plot.x0 + Int((x - xr.0) / (xr.1 - xr.0) * Double(plot.x1 - plot.x0)) }
        func py(_ y: Double) -> Int { plot.y1 - Int((y - yr.0) / (yr.1 - yr.0) * Double(plot.y1 - plot.y0)) }

        for i in 0...4 {
            let y = plot.y1 - i * (plot.y1 - plot.y0) / 4
            image.fill(x: plot.x0, y: y, width: plot.x1 - plot.x0, height: 1, color: grid)
            let label = LineChart.format(yr.0 + Double(i) / 4 * (yr.1 - yr.0))
            image.draw(text: label, x: plot.x0 - 8 - Image.textWidth(label, scale: scale), y: y - 7, scale: scale, color: text)
            let x = plot.x0 + i * (plot.x1 - plot.x0) / 4
            let xl = LineChart.format(xr.0 + Double(i) / 4 * (xr.1 - xr.0))
            image.draw(text: xl, x: x - Image.textWidth(xl, scale: scale) / 2, y: plot.y1 + 8, scale: scale, color: text)
        }
        image.fill(x: plot.x0, y: plot.y0, width: 1, height: plot.y1 - plot.y0 + 1, color: text)
        image.fill(x: plot.x0, y: plot.y1, width: plot.x1 - plot.x0 + 1, height: 1, color: text)
        image.draw(text: xLabel, x: (width - Image.textWidth(xLabel, scale: scale)) / 2, y: plot.y1 + 30, scale: scale, color: text)
        image.draw(text: yLabel, x: 8, y: plot.y0 - 24, scale: scale, color: text)

        // Budgets: dashed lines across the plot.
        if let b = xBudget, b.value.isFinite {
            let x = px(b.value)
            for y in stride(from: plot.y0, to: plot.y1, by: 8) { image.fill(x: x, y: y, width: 2, height: 5, color: budget) }
            image.draw(text: b.label, x: min(x + 6, plot.x1 - Image.textWidth(b.label, scale: scale)), y: plot.y0 + 4, scale: scale, color: budget)
        }
        if let b = yBudget, b.value.isFinite {
            let y = py(b.value)
            for x in stride(from: plot.x0, to: plot.x1, by: 8) { image.fill(x: x, y: y, width: 5, height: 2, color: budget) }
            image.draw(text: b.label, x: plot.x1 - Image.textWidth(b.label, scale: scale) - 4, y: y + 6, scale: scale, color: budget)
        }
        // The front, then the points over it, then the chosen one ringed.
        let sortedFront = front.filter { $0.x.isFinite && $0.y.isFinite }.sorted { $0.x < $1.x }
        for (a, b) in zip(sortedFront, sortedFront.dropFirst()) { image.line(from: (px(a.x), py(a.y)), to: (px(b.x), py(b.y)), color: RGB(120, 120, 120)) }
        for g in groups {
            for p in g.points where p.x.isFinite && p.y.isFinite { image.fill(x: px(p.x) - 3, y: py(p.y) - 3, width: 7, height: 7, color: g.color) }
        }
        if let c = chosen, c.x.isFinite, c.y.isFinite {
            let (x, y) = (px(c.x), py(c.y))
            for (dx, dy, w, h) in [(-7, -7, 15, 2), (-7, 6, 15, 2), (-7, -7, 2, 15), (6, -7, 2, 15)] {
                image.fill(x: x + dx, y: y + dy, width: w, height: h, color: text)
            }
        }
        // Key.
        var kx = plot.x0
        for g in groups {
            image.fill(x: kx, y: height - 40, width: 10, height: 10, color: g.color)
            image.draw(text: g.name, x: kx + 16, y: height - 42, scale: scale, color: text)
            kx += 16 + Image.textWidth(g.name, scale: scale) + 24
        }
        return image
    }
}
