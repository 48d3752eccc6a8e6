import SegTensor
import Foundation
import Testing
@testable import SegImaging

@Suite("PNG")
struct PNGTests {
    static func fixtureNames() -> [String] {
        ((try? Fixtures.entries("png")) ?? []).compactMap { $0["file"] as? String }
    }

    static func entry(_ file: String) throws -> [String: Any] {
        try #require(try Fixtures.entries("png").first { $0["file"] as? String == file })
    }

    @Test("decodes every colour type, bit depth and interlace like the reference", arguments: fixtureNames())
    func decodesFixture(_ file: String) throws {
        let e = try Self.entry(file)
        let bytes = try Fixtures.bytes(file)
        let image = try PNG.decode(bytes)
        #expect(image.width == e["width"] as? Int)
        #expect(image.height == e["height"] as? Int)
        #expect(image.channels == e["channels"] as? Int)
        #expect(image.pixels == (try Fixtures.bytes(try #require(e["expected"] as? String))))
        if let name = e["expected16"] as? String {
            let raw = try Fixtures.bytes(name)
            let expected = stride(from: 0, to: raw.count, by: 2).map { UInt16(raw[$0]) | UInt16(raw[$0 + 1]) << 8 }
            #expect(try PNG.decode16(bytes).samples == expected)
        }
        if let name = e["indices"] as? String {
            let idx = try PNG.decode(bytes, options: .init(paletteIndices: true))
            #expect(idx.channels == 1)
            #expect(idx.pixels == (try Fixtures.bytes(name)))
        }
    }

    @Test func readInfoReportsHeader() throws {
        let info = try PNG.readInfo(try Fixtures.bytes("png_c3_d2_i1.png"))
        #expect(info.width == 17 && info.height == 13)
        #expect(info.bitDepth == 2 && info.colorType == .palette && info.interlaced)
        #expect(info.palette?.count == 4)
        #expect(info.transparency != nil)
    }

    @Test func roundTripsEveryEncoderLayout() throws {
        var rng = SeededGenerator(seed: 3)
        for channels in [1, 3, 4] {
            for (w, h) in [(1, 1), (17, 13), (64, 3)] {
                let px = (0..<(w * h * channels)).map { i in i % 5 == 0 ? rng.byte() : UInt8((i / channels) % 7 * 30) }
                let image = try Image(width: w, height: h, channels: channels, pixels: px)
                for filter: PNG.FilterStrategy in [.adaptive, .fixed(0), .fixed(1), .fixed(2), .fixed(3), .fixed(4)] {
                    let encoded = try PNG.encode(image, options: .init(filter: filter))
                    #expect(try PNG.decode(encoded) == image)
                }
            }
        }
    }

    @Test func paletteEncodingRoundTripsIndicesAndColours() throws {
        let palette = [RGB(128, 128, 128), RGB(128, 0, 0), RGB(192, 192, 128), RGB(0, 0, 0)]
        let mask = try Image(width: 19, height: 11, channels: 1, pixels: (0..<(19 * 11)).map { UInt8(($0 / 5) % 4) })
        let png = try PNG.encodeIndexed(mask, palette: palette)
        #expect(try PNG.decode(png, options: .init(paletteIndices: true)) == mask)
        let rgb = try PNG.decode(png)
        #expect(rgb.channels == 3)
        for i in 0..<(19 * 11) {
            let c = palette[Int(mask.pixels[i])]
            #expect(Array(rgb.pixels[(3 * i)..<(3 * i + 3)]) == [c.r, c.g, c.b])
        }
        let withAlpha = try PNG.encodeIndexed(mask, palette: palette, alphas: [255, 128])
        #expect(try PNG.decode(withAlpha).channels == 4)
        #expect(throws: ImagingError.self) { try PNG.encodeIndexed(mask, palette: Array(palette[0..<2])) }
    }

    @Test func decodesRealCamVidLabel() throws {
        let cam = try Fixtures.camvid()
        let image = try PNG.decode(try Fixtures.bytes(cam.label))
        let expected = try Zlib.decompress(try Fixtures.bytes(cam.labelExpected), maxOutput: 1 << 24)
        #expect(image.channels == 1 && image.width == cam.width && image.height == cam.height)
        #expect(image.pixels == expected)
        // Re-encoding is lossless.
        #expect(try PNG.decode(try PNG.encode(image)) == image)
    }

    // MARK: - Bad input

    @Test func truncatedFilesThrow() throws {
        for file in ["png_c2_d8_i0.png", "png_c3_d4_i1.png", "png_c6_d16_i1.png", "png_c0_d8_i1.png"] {
            let bytes = try Fixtures.bytes(file)
            for cut in 0..<bytes.count {
                #expect(throws: ImagingError.self, "\(file) cut at \(cut)") { try PNG.decode(Array(bytes[..<cut])) }
            }
        }
    }

    @Test func corruptBytesNeverCrash() throws {
        let bytes = try Fixtures.bytes("png_c6_d8_i1.png")
        var rng = SeededGenerator(seed: 11)
        for pos in 0..<bytes.count {
            var bad = bytes
            bad[pos] ^= UInt8(1 + rng.int(255))
            // Any byte change is caught by the signature, a CRC or a length check.
            #expect(throws: ImagingError.self, "byte \(pos)") { try PNG.decode(bad) }
        }
    }

    @Test func corruptPayloadWithValidCRCsThrowsOrDecodes() throws {
        // Re-sign mutated IDAT payloads so that the inflater and unfilterer see the damage.
        let good = try Fixtures.bytes("png_c2_d8_i0.png")
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<300 {
            var chunks = try splitChunks(good)
            if let k = chunks.firstIndex(where: { $0.type == "IDAT" }), !chunks[k].data.isEmpty {
                let i = rng.int(chunks[k].data.count)
                chunks[k].data[i] ^= UInt8(1 + rng.int(255))
            }
            _ = try? PNG.decode(joinChunks(chunks))   // must not trap; either outcome is acceptable
        }
    }

    @Test func badCRCNamesTheChunk() throws {
        var bytes = try Fixtures.bytes("png_c0_d8_i0.png")
        bytes[8 + 8 + 13] ^= 0xFF   // first byte of the IHDR CRC
        do {
            _ = try PNG.decode(bytes)
            Issue.record("bad CRC accepted")
        } catch {
            #expect(error.kind == .checksum)
            #expect(error.context == "chunk IHDR")
            #expect(error.description.contains("IHDR"))
        }
    }

    @Test func absurdDimensionsFailBeforeAllocating() throws {
        for (w, h, kind) in [(100_000, 100_000, ImagingError.Kind.tooLarge), (0, 10, .corrupt), (10, 0, .corrupt),
                             (0x7FFF_FFFF, 0x7FFF_FFFF, .tooLarge)] {
            let png = makePNG(width: w, height: h, depth: 8, colorType: 0, idat: Zlib.compress([0, 0]))
            do {
                _ = try PNG.decode(png)
                Issue.record("\(w)x\(h) accepted")
            } catch {
                #expect(error.kind == kind, "\(w)x\(h): \(error)")
            }
        }
    }

    @Test func invalidHeaderCombinationsThrow() throws {
        for (depth, type) in [(3, 0), (16, 3), (4, 2), (1, 6), (8, 5)] {
            let png = makePNG(width: 4, height: 4, depth: depth, colorType: type, idat: Zlib.compress([UInt8](repeating: 0, count: 100)))
            #expect(throws: ImagingError.self, "depth \(depth) type \(type)") { try PNG.decode(png) }
        }
        // Too little and too much image data, and a bad filter type.
        #expect(throws: ImagingError.self) { try PNG.decode(makePNG(width: 4, height: 4, depth: 8, colorType: 0, idat: Zlib.compress([0, 1, 2]))) }
        #expect(throws: ImagingError.self) { try PNG.decode(makePNG(width: 2, height: 1, depth: 8, colorType: 0, idat: Zlib.compress([0, 1, 2, 3]))) }
        #expect(throws: ImagingError.self) { try PNG.decode(makePNG(width: 2, height: 1, depth: 8, colorType: 0, idat: Zlib.compress([9, 1, 2]))) }
        // Palette image without PLTE.
        #expect(throws: ImagingError.self) { try PNG.decode(makePNG(width: 2, height: 1, depth: 8, colorType: 3, idat: Zlib.compress([0, 1, 2]))) }
    }
}

// MARK: - Chunk helpers for crafting bad files

struct RawChunk {
    var type: String
    var data: [UInt8]
}

func splitChunks(_ png: [UInt8]) throws -> [RawChunk] {
    var out: [RawChunk] = []
    var pos = 8
    while pos + 12 <= png.count {
        let len = Int(png[pos]) << 24 | Int(png[pos + 1]) << 16 | Int(png[pos + 2]) << 8 | Int(png[pos + 3])
        let type = String(decoding: png[(pos + 4)..<(pos + 8)], as: UTF8.self)
        out.append(RawChunk(type: type, data: Array(png[(pos + 8)..<(pos + 8 + len)])))
        pos += 12 + len
    }
    return out
}

func joinChunks(_ chunks: [RawChunk]) -> [UInt8] {
    var out = PNGParser.signature
    for c in chunks {
        let n = UInt32(c.data.count)
        out += [UInt8(n >> 24), UInt8((n >> 16) & 255), UInt8((n >> 8) & 255), UInt8(n & 255)]
        let typed = Array(c.type.utf8) + c.data
        out += typed
        let crc = Checksum.crc32(typed)
        out += [UInt8(crc >> 24), UInt8((crc >> 16) & 255), UInt8((crc >> 8) & 255), UInt8(crc & 255)]
    }
    return out
}

func makePNG(width: Int, height: Int, depth: Int, colorType: Int, idat: [UInt8]) -> [UInt8] {
    let w = UInt32(truncatingIfNeeded: width), h = UInt32(truncatingIfNeeded: height)
    let ihdr: [UInt8] = [UInt8(w >> 24), UInt8((w >> 16) & 255), UInt8((w >> 8) & 255), UInt8(w & 255),
                         UInt8(h >> 24), UInt8((h >> 16) & 255), UInt8((h >> 8) & 255), UInt8(h & 255),
                         UInt8(depth), UInt8(colorType), 0, 0, 0]
    return joinChunks([RawChunk(type: "IHDR", data: ihdr), RawChunk(type: "IDAT", data: idat), RawChunk(type: "IEND", data: [])])
}
