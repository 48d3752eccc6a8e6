/// A 5×7 pixel font drawn here for legends: digits, A–Z (lowercase is drawn as uppercase),
/// and the punctuation class names use. Each glyph is 7 rows of 5 bits, most significant
/// bit on the left.
enum BitmapFont {
    static let width = 5
    static let height = 7

    static let glyphs: [Character: [UInt8]] = [
        "A": [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
        "B": [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110],
        "C": [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110],
        "D": [0b11100, 0b10010, 0b10001, 0b10001, 0b10001, 0b10010, 0b11100],
        "E": [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111],
        "F": [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000],
        "G": [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111],
        "H": [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
        "I": [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        "J": [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100],
        "K": [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001],
        "L": [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111],
        "M": [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001],
        "N": [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001],
        "O": [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        "P": [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000],
        "Q": [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101],
        "R": [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001],
        "S": [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110],
        "T": [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
        "U": [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        "V": [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100],
        "W": [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010],
        "X": [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001],
        "Y": [0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100],
        "Z": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111],
        "0": [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
        "1": [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        "2": [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
        "3": [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
        "4": [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
        "5": [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
        "6": [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
        "7": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
        "8": [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
        "9": [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
        " ": [0, 0, 0, 0, 0, 0, 0],
        "_": [0, 0, 0, 0, 0, 0, 0b11111],
        "-": [0, 0, 0, 0b11111, 0, 0, 0],
        ".": [0, 0, 0, 0, 0, 0b01100, 0b01100],
        ",": [0, 0, 0, 0, 0b01100, 0b00100, 0b01000],
        ":": [0, 0b01100, 0b01100, 0, 0b01100, 0b01100, 0],
        "/": [0b00001, 0b00010, 0b00010, 0b00100, 0b01000, 0b01000, 0b10000],
        "(": [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010],
        ")": [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000],
        "'": [0b00100, 0b00100, 0b01000, 0, 0, 0, 0],
        "%": [0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011],
        "+": [0, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0],
        "?": [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0, 0b00100],
    ]

    /// The glyph for a character; unknown characters draw as "?".
    static func glyph(_ c: Character) -> [UInt8] {
        glyphs[Character(c.uppercased())] ?? glyphs["?"] ?? []
    }
}

extension Image {
    /// Draws `text` with its top-left corner at (x, y), each font pixel `scale`×`scale`.
    /// Pixels outside the image are clipped.
    package mutating func draw(text: String, x: Int, y: Int, scale: Int = 2, color: RGB) {
        guard channels >= 3, scale > 0 else { return }
        var penX = x
        for ch in text {
            let rows = BitmapFont.glyph(ch)
            for (row, bits) in rows.enumerated() {
                for col in 0..<BitmapFont.width where bits & (1 << (BitmapFont.width - 1 - col)) != 0 {
                    fill(x: penX + col * scale, y: y + row * scale, width: scale, height: scale, color: color)
                }
            }
            penX += (BitmapFont.width + 1) * scale
        }
    }

    /// Fills a rectangle, clipped to the image.
    package mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        guard channels >= 3 else { return }
        for yy in max(y, 0)..<min(y + h, height) {
            for xx in max(x, 0)..<min(x + w, width) {
                let i = (yy * width + xx) * channels
                pixels[i] = color.r; pixels[i + 1] = color.g; pixels[i + 2] = color.b
            }
        }
    }

    /// Width in pixels of `text` drawn at `scale`.
    package static func textWidth(_ text: String, scale: Int = 2) -> Int {
        max(text.count * (BitmapFont.width + 1) * scale - scale, 0)
    }
}

/// A legend: one row per class, its palette colour as a swatch and its name.
package enum Legend {
    /// 3× the 5×7 font (21-pixel capitals): legible at a glance beside a 480-pixel-wide
    /// overlay, where 2× read as small print.
    package static let defaultScale = 3

    package static func render(classes: [String], palette: [RGB], scale: Int = defaultScale) throws(ImagingError) -> Image {
        let rowHeight = BitmapFont.height * scale + 10, swatch = BitmapFont.height * scale + 4, margin = 8
        let digits = String(max(classes.count - 1, 0)).count
        let names = classes.enumerated().map { i, name in
            String(repeating: " ", count: digits - String(i).count) + "\(i)  \(name)"
        }
        let textWidth = names.map { Image.textWidth($0, scale: scale) }.max() ?? 0
        let width = margin * 3 + swatch + textWidth, height = margin * 2 + max(names.count, 1) * rowHeight
        var image = try Image(width: width, height: height, channels: 3, fill: 255)
        for (i, name) in names.enumerated() {
            let top = margin + i * rowHeight
            let color = i < palette.count ? palette[i] : RGB(0, 0, 0)
            image.fill(x: margin - 1, y: top - 1, width: swatch + 2, height: swatch + 2, color: RGB(60, 60, 60))
            image.fill(x: margin, y: top, width: swatch, height: swatch, color: color)
            image.draw(text: name, x: margin * 2 + swatch, y: top + 2, scale: scale, color: RGB(20, 20, 20))
        }
        return image
    }
}
