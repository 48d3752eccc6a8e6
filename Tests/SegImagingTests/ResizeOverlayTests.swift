import Foundation
import Testing
@testable import SegImaging

@Suite("resize and overlay")
struct ResizeOverlayTests {
    static func source() throws -> Image {
        try Image(width: 17, height: 13, channels: 3, pixels: try Fixtures.bytes("resize_src.rgb"))
    }

    static func labels() throws -> Image {
        try Image(width: 17, height: 13, channels: 1, pixels: try Fixtures.bytes("resize_labels.raw"))
    }

    @Test func resizesLikeTheReferenceFormulas() throws {
        let src = try Self.source(), labels = try Self.labels()
        for e in try Fixtures.entries("resize") {
            let kind = try #require(e["kind"] as? String)
            let w = try #require(e["width"] as? Int), h = try #require(e["height"] as? Int)
            let expected = try Fixtures.bytes(try #require(e["expected"] as? String))
            switch kind {
            case "bilinear":
                // Fixed-point weights (1/2048) against the float reference: at most one level apart.
                let d = absDiff(try src.resizedBilinear(width: w, height: h).pixels, expected)
                #expect(d.max <= 1 && d.mean < 0.05, "bilinear \(w)x\(h): mean \(d.mean) max \(d.max)")
            case "nearest_floor":
                #expect(try labels.resizedNearest(width: w, height: h, rule: .floor).pixels == expected, "\(w)x\(h)")
            default:
                #expect(try labels.resizedNearest(width: w, height: h, rule: .halfPixel).pixels == expected, "\(w)x\(h)")
            }
        }
    }

    @Test func resizeInvariants() throws {
        let src = try Self.source()
        #expect(try src.resizedBilinear(width: 17, height: 13) == src)
        let flat = try Image(width: 5, height: 3, channels: 4, fill: 77)
        #expect(try flat.resizedBilinear(width: 23, height: 11).pixels.allSatisfy { $0 == 77 })
        // Nearest never invents labels.
        let labels = try Self.labels()
        let values = Set(labels.pixels)
        #expect(Set(try labels.resizedNearest(width: 50, height: 3).pixels).isSubset(of: values))
        #expect(throws: ImagingError.self) { try src.resizedBilinear(width: 0, height: 4) }
        #expect(throws: ImagingError.self) { try src.resizedNearest(width: 100_000, height: 100_000) }
    }

    @Test func overlayMatchesTheIntegerFormula() throws {
        let src = try Self.source(), labels = try Self.labels()
        let palette = Palette.voc(count: 11)
        for e in try Fixtures.entries("overlay") {
            let alpha = try #require(e["alpha"] as? Double)
            let out = try src.overlaying(mask: labels, palette: palette, alpha: alpha)
            #expect(out.pixels == (try Fixtures.bytes(try #require(e["expected"] as? String))), "alpha \(alpha)")
        }
        #expect(throws: ImagingError.self) { try src.overlaying(mask: try labels.resizedNearest(width: 3, height: 3), palette: palette) }
        #expect(throws: ImagingError.self) { try src.overlaying(mask: src, palette: palette) }
    }

    @Test func vocPaletteAndColorize() throws {
        let p = Palette.voc(count: 4)
        #expect(p == [RGB(0, 0, 0), RGB(128, 0, 0), RGB(0, 128, 0), RGB(128, 128, 0)])
        let mask = try Image(width: 3, height: 1, channels: 1, pixels: [1, 255, 3])
        #expect(try mask.colorized(palette: p).pixels == [128, 0, 0, 0, 0, 0, 128, 128, 0])
        // A colourised mask written as a palette PNG reads back as the same colours.
        let png = try PNG.encodeIndexed(try Image(width: 3, height: 1, channels: 1, pixels: [1, 0, 3]), palette: p)
        #expect(try PNG.decode(png).pixels == [128, 0, 0, 0, 0, 0, 128, 128, 0])
    }

    @Test func normalizeProducesCHW() throws {
        let img = try Image(width: 2, height: 1, channels: 3, pixels: [0, 128, 255, 255, 0, 51])
        let x = try img.normalizedCHW(mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
        let expected: [Float] = [-1, 1, 128 / 127.5 - 1, -1, 1, 51 / 127.5 - 1]
        for (a, b) in zip(x, expected) { #expect(abs(a - b) < 1e-5) }
        #expect(throws: ImagingError.self) { try img.normalizedCHW(mean: [0], std: [1]) }
    }

    /// Into a caller's buffer (a model's input slot): BGR writes channel c, normalised with
    /// its own mean and std, to plane 2 − c; a buffer of the wrong size is refused untouched.
    @Test func normalizeIntoABufferSwapsPlanesForBGR() throws {
        let img = try Image(width: 2, height: 1, channels: 3, pixels: [0, 128, 255, 255, 0, 51])
        var out = [Float](repeating: 9, count: 6)
        try out.withUnsafeMutableBufferPointer {
            try img.normalizeCHW(into: $0, mean: [0, 0.5, 1], std: [1, 0.5, 0.25], bgr: true)
        }
        // Plane 0 is blue ((b/255 − 1) / 0.25), plane 1 green, plane 2 red (r/255).
        let expected: [Float] = [0, (51 / 255 - 1) * 4, (128 / 255 - 0.5) * 2, -1, 0, 1]
        for (a, b) in zip(out, expected) { #expect(abs(a - b) < 1e-5, "\(out)") }
        var short = [Float](repeating: 7, count: 5)
        #expect(throws: ImagingError.self) {
            try short.withUnsafeMutableBufferPointer { try img.normalizeCHW(into: $0, mean: [0, 0, 0], std: [1, 1, 1]) }
        }
        #expect(short == [Float](repeating: 7, count: 5))
        let gray = try Image(width: 1, height: 1, channels: 1, pixels: [3])
        var one: [Float] = [0]
        #expect(throws: ImagingError.self) {
            try one.withUnsafeMutableBufferPointer { try gray.normalizeCHW(into: $0, mean: [0], std: [1], bgr: true) }
        }
    }

    /// Files are read whole; an empty file is no bytes; a folder or a missing path is an I/O
    /// error naming the path (and why).
    @Test func readingFilesNamesWhatWentWrong() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-read-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 * 31) }
        let file = dir.appendingPathComponent("some.bin"), empty = dir.appendingPathComponent("empty.bin")
        try Data(bytes).write(to: file)
        try Data().write(to: empty)
        let back = try ImageIO.read(file.path)
        #expect(back.count == bytes.count && back == bytes)
        #expect(try ImageIO.read(empty.path).isEmpty)
        for (path, why) in [(dir.path, "not a regular file"), (dir.appendingPathComponent("none.png").path, "No such file")] {
            do {
                _ = try ImageIO.read(path)
                Issue.record("read \(path) did not fail")
            } catch {
                #expect("\(error)".contains(path) && "\(error)".contains(why), "\(error)")
            }
        }
    }

    @Test func orientationTransformsComposeCorrectly() throws {
        let img = try Image(width: 3, height: 2, channels: 1, pixels: [1, 2, 3, 4, 5, 6])
        #expect(img.oriented(.right).pixels == [4, 1, 5, 2, 6, 3])          // 90° clockwise
        #expect(img.oriented(.left).pixels == [3, 6, 2, 5, 1, 4])           // 90° counter-clockwise
        #expect(img.oriented(.leftMirrored).pixels == [1, 4, 2, 5, 3, 6])   // transpose
        #expect(img.oriented(.down).oriented(.down) == img)
        #expect(img.oriented(.right).width == 2)
    }
}

/// The banded overlay (two threads over row bands once the image is large) and `rgb()`.
struct OverlayBandsTests {
    @Test func largeOverlayEqualsThePerPixelFormula() throws {
        let w = 401, h = 300
        var px = [UInt8](repeating: 0, count: w * h * 3), labels = [UInt8](repeating: 0, count: w * h)
        for i in 0..<(w * h) {
            for c in 0..<3 { px[3 * i + c] = UInt8((i * 7 + c * 31) & 0xFF) }
            labels[i] = UInt8(i % 13 == 0 ? 255 : (i / w) % 6)   // 255: void; 5: beyond a 5-colour palette
        }
        let image = try Image(width: w, height: h, channels: 3, pixels: px)
        let mask = try Image(width: w, height: h, channels: 1, pixels: labels)
        let palette = [RGB(255, 0, 0), RGB(0, 255, 0), RGB(0, 0, 255), RGB(9, 99, 199), RGB(1, 2, 3)]
        let out = try image.overlaying(mask: mask, palette: palette, alpha: 0.3)
        let a = Int((0.3 * 256).rounded())
        var wrong = 0
        for i in 0..<(w * h) {
            let l = Int(labels[i])
            for c in 0..<3 {
                let v = Int(px[3 * i + c])
                let want: Int
                if l < palette.count {
                    let col = [palette[l].r, palette[l].g, palette[l].b][c]
                    want = (v * (256 - a) + Int(col) * a + 128) >> 8
                } else {
                    want = v
                }
                if Int(out.pixels[3 * i + c]) != want { wrong += 1 }
            }
        }
        #expect(wrong == 0)
    }

    @Test func rgbRepeatsGrayAndDropsAlpha() throws {
        let gray = try Image(width: 2, height: 1, channels: 1, pixels: [7, 200])
        #expect(gray.rgb().pixels == [7, 7, 7, 200, 200, 200])
        let rgba = try Image(width: 2, height: 1, channels: 4, pixels: [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(rgba.rgb().pixels == [1, 2, 3, 5, 6, 7])
        let rgb = try Image(width: 1, height: 1, channels: 3, pixels: [9, 8, 7])
        #expect(rgb.rgb() == rgb)
    }
}
