/// EXIF orientation (tag 0x0112) and the transform that undoes it.
package enum Orientation: Int, Sendable, Equatable {
    /// 1: stored upright.
    case up = 1
    /// 2: mirrored left-right.
    case upMirrored = 2
    /// 3: rotated 180°.
    case down = 3
    /// 4: mirrored top-bottom.
    case downMirrored = 4
    /// 5: transposed (mirrored along the main diagonal).
    case leftMirrored = 5
    /// 6: needs a 90° clockwise turn to display.
    case right = 6
    /// 7: transversed (mirrored along the anti-diagonal).
    case rightMirrored = 7
    /// 8: needs a 90° counter-clockwise turn to display.
    case left = 8

    /// Whether displaying swaps width and height.
    package var swapsAxes: Bool { rawValue >= 5 }
}

extension Image {
    /// The upright image for `orientation`, matching PIL's `ImageOps.exif_transpose`
    /// (2: FLIP_LEFT_RIGHT, 3: ROTATE_180, 4: FLIP_TOP_BOTTOM, 5: TRANSPOSE,
    /// 6: ROTATE_270, 7: TRANSVERSE, 8: ROTATE_90).
    package func oriented(_ orientation: Orientation) -> Image {
        if orientation == .up { return self }
        let w = width, h = height, ch = channels
        let ow = orientation.swapsAxes ? h : w, oh = orientation.swapsAxes ? w : h
        var out = [UInt8](repeating: 0, count: pixels.count)
        for oy in 0..<oh {
            for ox in 0..<ow {
                // Source pixel for output (ox, oy).
                let (sx, sy): (Int, Int) = switch orientation {
                case .up: (ox, oy)
                case .upMirrored: (w - 1 - ox, oy)
                case .down: (w - 1 - ox, h - 1 - oy)
                case .downMirrored: (ox, h - 1 - oy)
                case .leftMirrored: (oy, ox)
                case .right: (oy, h - 1 - ox)
                case .rightMirrored: (w - 1 - oy, h - 1 - ox)
                case .left: (w - 1 - oy, ox)
                }
                let d = (oy * ow + ox) * ch, s = (sy * w + sx) * ch
                for c in 0..<ch { out[d + c] = pixels[s + c] }
            }
        }
        return Image(unchecked: ow, oh, ch, out)
    }
}

/// Just enough TIFF/EXIF parsing to find the orientation in an APP1 segment.
enum EXIF {
    /// `app1` is the APP1 payload (after the length). Malformed data yields nil, never a trap.
    static func orientation(app1 s: [UInt8]) -> Orientation? {
        guard s.count >= 14, Array(s[0..<6]) == [0x45, 0x78, 0x69, 0x66, 0, 0] else { return nil }
        let t = 6   // TIFF header start
        let little: Bool
        switch (s[t], s[t + 1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ i: Int) -> Int? {
            guard i >= 0, i + 2 <= s.count else { return nil }
            return little ? Int(s[i]) | Int(s[i + 1]) << 8 : Int(s[i]) << 8 | Int(s[i + 1])
        }
        func u32(_ i: Int) -> Int? {
            guard let a = u16(i), let b = u16(i + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(t + 2) == 42, let ifd = u32(t + 4), let count = u16(t + ifd) else { return nil }
        for k in 0..<min(count, 1000) {
            let e = t + ifd + 2 + 12 * k
            guard let tag = u16(e) else { return nil }
            if tag == 0x0112 {
                guard u16(e + 2) == 3, let v = u16(e + 8) else { return nil }
                return Orientation(rawValue: v)
            }
        }
        return nil
    }
}
