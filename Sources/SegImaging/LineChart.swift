/// A small line chart as a PNG-ready image: up to two series over a shared x axis (epochs),
/// the first on a left axis, the second on a right axis with its own range, each with a
/// title in its colour. Enough for a training curve (loss and val mIoU per epoch) with no
/// plotting library.
package struct LineChart: Sendable {
    package struct Series: Sendable {
        package var name: String
        /// (x, y) points; nil y values are gaps (an epoch without evaluation).
        package var points: [(x: Double, y: Double)]
        package var color: RGB

        package init(name: String, points: [(x: Double, y: Double)], color: RGB) {
            self.name = name
            self.points = points
            self.color = color
        }
    }

    package var title: String
    package var xLabel: String
    package var left: Series
    package var right: Series?
    package var width = 720
    package var height = 400

    package init(title: String, xLabel: String, left: Series, right: Series? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.left = left
        self.right = right
    }

    package func render() throws(ImagingError) -> Image {
        var image = try Image(width: width, height: height, channels: 3, fill: 255)
        let scale = 2, text = RGB(30, 30, 30), grid = RGB(225, 225, 225)
        let plot = (x0: 80, y0: 50, x1: width - 80, y1: height - 60)
        image.draw(text: title, x: (width - Image.textWidth(title, scale: scale)) / 2, y: 12, scale: scale, color: text)
        let all = left.points + (right?.points ?? [])
        let xs = all.map(\.x)
        let xRange = (xs.min() ?? 0, max(xs.max() ?? 1, (xs.min() ?? 0) + 1))
        func range(_ s: Series) -> (Double, Double) {
            let ys = s.points.map(\.y).filter(\.isFinite)
            let lo = ys.min() ?? 0, hi = ys.max() ?? 1
            let pad = max((hi - lo) * 0.08, 1e-6)
            return (lo - pad, hi + pad)
        }
        func px(_ x: Double) -> Int { plot.x0 + Int((x - xRange.0) / (xRange.1 - xRange.0) * Double(plot.x1 - plot.x0)) }
        func py(_ y: Double, _ r: (Double, Double)) -> Int { plot.y1 - Int((y - r.0) / (r.1 - r.0) * Double(plot.y1 - plot.y0)) }

        // Grid, axes and tick labels.
        let leftRange = range(left)
        for i in 0...4 {
            let y = plot.y1 - i * (plot.y1 - plot.y0) / 4
            image.fill(x: plot.x0, y: y, width: plot.x1 - plot.x0, height: 1, color: grid)
            let value = leftRange.0 + Double(i) / 4 * (leftRange.1 - leftRange.0)
            let label = Self.format(value)
            image.draw(text: label, x: plot.x0 - 8 - Image.textWidth(label, scale: scale), y: y - 7, scale: scale, color: left.color)
            if let right {
                let r = range(right)
                let rv = r.0 + Double(i) / 4 * (r.1 - r.0)
                image.draw(text: Self.format(rv), x: plot.x1 + 8, y: y - 7, scale: scale, color: right.color)
            }
        }
        image.fill(x: plot.x0, y: plot.y0, width: 1, height: plot.y1 - plot.y0 + 1, color: text)
        image.fill(x: plot.x0, y: plot.y1, width: plot.x1 - plot.x0 + 1, height: 1, color: text)
        for label in [xRange.0, xRange.1] {
            let s = Self.format(label)
            image.draw(text: s, x: px(label) - Image.textWidth(s, scale: scale) / 2, y: plot.y1 + 8, scale: scale, color: text)
        }
        image.draw(text: xLabel, x: (width - Image.textWidth(xLabel, scale: scale)) / 2, y: height - 26, scale: scale, color: text)

        // Series, with their names as a key.
        for (series, r) in [(left, leftRange)] + (right.map { [($0, range($0))] } ?? []) {
            var previous: (Int, Int)? = nil
            for p in series.points where p.y.isFinite {
                let point = (px(p.x), py(p.y, r))
                if let previous { image.line(from: previous, to: point, color: series.color) }
                image.fill(x: point.0 - 2, y: point.1 - 2, width: 5, height: 5, color: series.color)
                previous = point
            }
        }
        image.draw(text: left.name, x: plot.x0, y: plot.y0 - 20, scale: scale, color: left.color)
        if let right {
            image.draw(text: right.name, x: plot.x1 - Image.textWidth(right.name, scale: scale), y: plot.y0 - 20, scale: scale, color: right.color)
        }
        return image
    }

    package static func format(_ v: Double) -> String {
        let magnitude = abs(v)
        if magnitude >= 100 || (magnitude == v.rounded() && magnitude < 1e6) { return String(Int(v.rounded())) }
        let digits = magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
        var s = String(Int((v * pow10(digits)).rounded()))
        let negative = s.hasPrefix("-")
        if negative { s.removeFirst() }
        while s.count <= digits { s = "0" + s }
        s.insert(".", at: s.index(s.endIndex, offsetBy: -digits))
        return (negative ? "-" : "") + s
    }

    private static func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { acc, _ in acc * 10 } }
}

extension Image {
    /// A two-pixel-wide line (Bresenham), clipped to the image.
    package mutating func line(from a: (Int, Int), to b: (Int, Int), color: RGB) {
        var (x, y) = a
        let dx = abs(b.0 - a.0), dy = -abs(b.1 - a.1)
        let sx = a.0 < b.0 ? 1 : -1, sy = a.1 < b.1 ? 1 : -1
        var error = dx + dy
        while true {
            fill(x: x, y: y, width: 2, height: 2, color: color)
            if x == b.0 && y == b.1 { break }
            let e2 = 2 * error
            if e2 >= dy { error += dy; x += sx }
            if e2 <= dx { error += dx; y += sy }
        }
    }
}
