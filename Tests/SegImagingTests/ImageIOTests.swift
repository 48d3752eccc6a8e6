import Foundation
import Testing
import SegTestSupport
@testable import SegImaging

@Suite("file loading")
struct ImageIOTests {
    @Test func sniffsAndDecodesBothFormats() throws {
        let png = try Fixtures.bytes("png_c2_d8_i0.png"), jpg = try Fixtures.bytes("jpeg_base_420.jpg")
        #expect(ImageFormat.sniff(png) == .png)
        #expect(ImageFormat.sniff(jpg) == .jpeg)
        #expect(ImageFormat.sniff([1, 2, 3]) == nil)
        #expect(try ImageIO.decode(png) == (try PNG.decode(png)))
        #expect(try ImageIO.decode(jpg) == (try JPEG.decode(jpg)))
        #expect(throws: ImagingError.self) { try ImageIO.decode(Array("GIF89a".utf8)) }
    }

    @Test func labelsDecodeLikeNumpyOnPillow() throws {
        // Palette → indices; 1-bit → 0/1; 16-bit gray → values.
        let pal = try Fixtures.bytes("png_c3_d4_i0.png")
        #expect(try ImageIO.decodeLabel(pal).pixels == (try Fixtures.bytes("png_c3_d4_i0.idx")))
        let one = try ImageIO.decodeLabel(try Fixtures.bytes("png_c0_d1_i1.png"))
        #expect(Set(one.pixels).isSubset(of: [0, 1]))
        let wide = try ImageIO.decodeLabel(try Fixtures.bytes("png_c0_d16_i0.png"))
        #expect(wide.pixels.map { UInt16($0) } == (try PNG.decode16(try Fixtures.bytes("png_c0_d16_i0.png"))).samples)
        #expect(throws: ImagingError.self) { try ImageIO.decodeLabel(try Fixtures.bytes("png_c2_d8_i0.png")) }
        #expect(throws: ImagingError.self) { try ImageIO.decodeLabel(try Fixtures.bytes("jpeg_gray.jpg")) }
    }

    @Test func fileErrorsNameTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("segimaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("cut.png").path
        let png = try Fixtures.bytes("png_c6_d8_i0.png")
        try ImageIO.write(Array(png[..<(png.count / 2)]), to: path)
        do {
            _ = try ImageIO.load(path: path)
            Issue.record("truncated file loaded")
        } catch {
            #expect(error.file == path)
            #expect(error.description.hasPrefix(path))
        }
        do {
            _ = try ImageIO.load(path: dir.appendingPathComponent("missing.jpg").path)
            Issue.record("missing file loaded")
        } catch {
            #expect(error.kind == .io)
        }
        let good = dir.appendingPathComponent("good.png").path
        try ImageIO.write(png, to: good)
        #expect(try ImageIO.load(path: good) == (try PNG.decode(png)))
    }

    @Test(.requires(camvid)) func camvidPairLoads() throws {
        let first = try #require(try String(contentsOfFile: camvidRoot + "/val.txt", encoding: .utf8).split(separator: "\n").first)
        let parts = first.split(separator: " ").map(String.init)
        let image = try ImageIO.load(path: camvidRoot + "/" + parts[0])
        let label = try ImageIO.loadLabel(path: camvidRoot + "/" + parts[1])
        #expect(image.width == label.width && image.height == label.height)
        #expect(image.channels == 3 && label.channels == 1)
        #expect(label.pixels.allSatisfy { $0 <= 10 || $0 == 255 })
    }
}
