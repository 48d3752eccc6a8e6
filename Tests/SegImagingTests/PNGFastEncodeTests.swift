@testable import SegImaging
import Testing

/// The run-length deflate and the banded fast PNG encoder, decoded by our own inflater and
/// checked sample for sample; band joins (sync flushes) and the Adler-32 combine are exercised
/// by images large enough for two bands.
@Suite
struct PNGFastEncodeTests {
    /// A picture with flat regions (long runs), gradients and noise, so literals, short and
    /// maximal (258-byte) runs all occur.
    static func picture(width: Int, height: Int, channels: Int) throws -> Image {
        var px = [UInt8](repeating: 0, count: width * height * channels)
        var state: UInt32 = 12345
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    state = state &* 1_664_525 &+ 1_013_904_223
                    let v: UInt8 = x < width / 3 ? 200 : (x < 2 * width / 3 ? UInt8((x + y + c) & 0xFF) : UInt8(state >> 24))
                    px[(y * width + x) * channels + c] = v
                }
            }
        }
        return try Image(width: width, height: height, channels: channels, pixels: px)
    }

    @Test("round-trips RGB, gray and RGBA with every filter and band count",
          arguments: [(3, UInt8(2), 2), (3, 1, 1), (3, 0, 2), (1, 2, 2), (4, 2, 3)])
    func roundTrips(_ channels: Int, _ filter: UInt8, _ threads: Int) throws {
        let image = try Self.picture(width: 300, height: 250, channels: channels)
        let png = try PNG.encodeFast(image, options: .init(filter: filter, threads: threads))
        let back = try PNG.decode(png)
        #expect(back.width == 300 && back.height == 250 && back.channels == channels)
        let same = back.pixels == image.pixels
        #expect(same)
    }

    /// A mask and an overlay in one batch (their bands mixed in one parallel loop, largest
    /// first) come back as each one encoded alone, each decoding to its own pixels.
    @Test func batchEqualsEachImageEncodedAlone() throws {
        let overlay = try Self.picture(width: 300, height: 250, channels: 3)
        var labels = [UInt8](repeating: 0, count: 200 * 90)
        for i in labels.indices { labels[i] = UInt8((i / 700) % 5) }
        let mask = try Image(width: 200, height: 90, channels: 1, pixels: labels)
        let palette = Palette.voc(count: 5)
        let batch = PNG.encodeFast(batch: [try .indexed(mask, palette: palette), try .pixels(overlay), try .pixels(overlay, filter: 1)], threads: 3)
        #expect(batch.count == 3)
        #expect(batch[0] == (try PNG.encodeIndexedFast(mask, palette: palette, options: .init(threads: 3))))
        #expect(batch[1] == (try PNG.encodeFast(overlay, options: .init(threads: 3))))
        let backMask = try PNG.decode(batch[0], options: .init(paletteIndices: true))
        let maskSame = backMask.pixels == labels
        #expect(maskSame)
        for png in batch[1...] {
            let back = try PNG.decode(png)
            let same = back.pixels == overlay.pixels
            #expect(same)
        }
    }

    @Test func indexedMaskRoundTripsAndStaysSmall() throws {
        var px = [UInt8](repeating: 0, count: 480 * 360)
        for i in px.indices { px[i] = UInt8((i / 480) / 40 + ((i % 480) > 240 ? 1 : 0)) }
        let mask = try Image(width: 480, height: 360, channels: 1, pixels: px)
        let png = try PNG.encodeIndexedFast(mask, palette: Palette.voc(count: 12))
        let back = try PNG.decode(png, options: .init(paletteIndices: true))
        // A Bool, not the arrays: a failing `==` on 172,800 elements makes the test library
        // compute a diff for minutes (that was the "hang" this suite was disabled for).
        let same = back.channels == 1 && back.pixels == px
        #expect(same)
        // 172,800 indices in a few hundred runs: far below 1% of the raw size.
        #expect(png.count < 1_728)
    }

    /// Runs of every length from 1 to 300 (past the 258 maximum, so one splits in two) of
    /// bytes that change only between runs: the eight-byte run extension must stop exactly at
    /// each run's end, wherever it falls in its word. Literal-only coding of the same bytes
    /// decodes alike and is larger here (runs are the whole content).
    @Test func runsOfEveryLengthRoundTripWithAndWithoutRunMatches() throws {
        var px: [UInt8] = []
        for length in 1...300 { px += [UInt8](repeating: UInt8(length % 7 + 1), count: length) }
        let width = 601, height = (px.count + width - 1) / width
        px += [UInt8](repeating: 0, count: width * height - px.count)
        let image = try Image(width: width, height: height, channels: 1, pixels: px)
        var sizes: [Int] = []
        for runs in [true, false] {
            let png = try PNG.encodeFast(image, options: .init(filter: 0, threads: 1, runs: runs))
            let same = try PNG.decode(png).pixels == px
            #expect(same, "runs \(runs)")
            sizes.append(png.count)
        }
        #expect(sizes[0] * 4 < sizes[1], "\(sizes)")
    }

    @Test func refusesIndicesWithoutColourAndUnknownFilters() throws {
        let mask = try Image(width: 4, height: 1, channels: 1, pixels: [0, 1, 2, 9])
        #expect(throws: ImagingError.self) { try PNG.encodeIndexedFast(mask, palette: Palette.voc(count: 3)) }
        let rgb = try Image(width: 1, height: 1, channels: 3, pixels: [1, 2, 3])
        #expect(throws: ImagingError.self) { try PNG.encodeFast(rgb, options: .init(filter: 4)) }
    }

    @Test func adlerCombineEqualsTheChecksumOfTheJoinedBytes() {
        let a: [UInt8] = (0..<7000).map { UInt8($0 % 251) }, b: [UInt8] = (0..<9001).map { UInt8(($0 * 7) % 256) }
        let joined = Checksum.adler32(a + b)
        #expect(Checksum.adler32Combine(Checksum.adler32(a), Checksum.adler32(b), length: b.count) == joined)
    }

    @Test func crcCombineEqualsTheChecksumOfTheJoinedBytes() {
        let a: [UInt8] = (0..<7000).map { UInt8($0 % 251) }, b: [UInt8] = (0..<9001).map { UInt8(($0 * 7) % 256) }
        #expect(Checksum.crc32Combine(Checksum.crc32(a), Checksum.crc32(b), length: b.count) == Checksum.crc32(a + b))
        // "1234" + "56789" against the standard check value of "123456789".
        let head = Checksum.crc32(Array("1234".utf8)), tail = Checksum.crc32(Array("56789".utf8))
        #expect(Checksum.crc32Combine(head, tail, length: 5) == 0xCBF4_3926)
        // An empty second part leaves the first CRC.
        #expect(Checksum.crc32Combine(head, 0, length: 0) == head)
    }

    @Test func slicedCRCEqualsTheBytewiseDefinition() {
        let bytes: [UInt8] = (0..<1003).map { UInt8(($0 * 31 + 7) % 256) }
        // Bytewise over a non-contiguous collection takes the one-table path.
        #expect(Checksum.crc32(bytes) == Checksum.crc32(bytes.lazy.map { $0 }))
        #expect(Checksum.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}
