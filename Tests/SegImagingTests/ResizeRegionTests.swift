import Testing
@testable import SegImaging

/// A region of a resize must be exactly that crop of the whole resize.
struct ResizeRegionTests {
    static func crop(_ image: Image, _ r: ResizeRegion) throws -> Image {
        var out: [UInt8] = []
        for y in r.y..<r.y + r.height {
            for x in r.x..<r.x + r.width {
                for c in 0..<image.channels { out.append(image[x, y, c]) }
            }
        }
        return try Image(width: r.width, height: r.height, channels: image.channels, pixels: out)
    }

    @Test func regionEqualsTheCropOfTheWholeResize() throws {
        let src = try ResizeOverlayTests.source(), labels = try ResizeOverlayTests.labels()
        let cases: [(Int, Int, ResizeRegion)] = [
            (26, 20, .init(x: 3, y: 5, width: 11, height: 9)),     // upscale, interior
            (26, 20, .init(x: 15, y: 11, width: 11, height: 9)),   // touching the bottom-right edge
            (9, 7, .init(x: 0, y: 0, width: 9, height: 7)),        // downscale, whole
            (17, 13, .init(x: 2, y: 1, width: 4, height: 12)),     // same size: a plain crop
            (40, 5, .init(x: 39, y: 4, width: 1, height: 1)),
        ]
        for (w, h, r) in cases {
            #expect(try src.resizedBilinear(width: w, height: h, region: r) == Self.crop(try src.resizedBilinear(width: w, height: h), r), "\(w)x\(h) \(r)")
            for rule in [NearestRule.floor, .halfPixel] {
                #expect(try labels.resizedNearest(width: w, height: h, region: r, rule: rule)
                    == Self.crop(try labels.resizedNearest(width: w, height: h, rule: rule), r), "\(w)x\(h) \(r) \(rule)")
            }
        }
    }

    @Test func regionsOutsideTheOutputAreErrors() throws {
        let src = try ResizeOverlayTests.source()
        for r in [ResizeRegion(x: 20, y: 0, width: 7, height: 3), .init(x: -1, y: 0, width: 2, height: 2), .init(x: 0, y: 0, width: 0, height: 2)] {
            #expect(throws: ImagingError.self) { try src.resizedBilinear(width: 26, height: 20, region: r) }
            #expect(throws: ImagingError.self) { try src.resizedNearest(width: 26, height: 20, region: r) }
        }
    }
}
