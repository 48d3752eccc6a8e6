import SegTensor
import Foundation
import Testing
@testable import SegImaging

@Suite("JPEG")
struct JPEGTests {
    static func fixtureNames() -> [String] {
        ((try? Fixtures.entries("jpeg")) ?? []).compactMap { $0["file"] as? String }
    }

    static func entry(_ file: String) throws -> [String: Any] {
        try #require(try Fixtures.entries("jpeg").first { $0["file"] as? String == file })
    }

    /// Every variant must equal Pillow's pixels (libjpeg-turbo islow + fancy upsampling), on
    /// one thread and on two: the helper that transforms rows behind the entropy decoding and
    /// the two colour bands, forced on for these small files (restart intervals, every
    /// sampling, gray) by a zero threshold.
    @Test("decodes like Pillow", arguments: fixtureNames(), [1, 2])
    func decodesLikePillow(_ file: String, threads: Int) throws {
        let e = try Self.entry(file)
        let bytes = try Fixtures.bytes(file)
        let applyOrientation = e["orientation"] != nil
        let image = try JPEG.decode(bytes, options: .init(applyOrientation: applyOrientation, threads: threads,
                                                           parallelMinimumSamples: threads > 1 ? 0 : .max))
        let expected = try Fixtures.bytes(try #require(e["expected"] as? String))
        #expect(image.width == e["width"] as? Int)
        #expect(image.height == e["height"] as? Int)
        #expect(image.channels == e["channels"] as? Int)
        let d = absDiff(image.pixels, expected)
        #expect(image.pixels.count == expected.count)
        #expect(d.max == 0, "\(file) (\(e["note"] ?? "")): mean |Δ| \(d.mean), max |Δ| \(d.max)")
    }

    /// A scan that fails part way on two threads stops its helper and throws, as on one (every
    /// cut of a file with restart markers and of a 4:2:2 one, the helper forced on).
    @Test func truncatedFilesThrowOnTwoThreads() throws {
        let options = JPEG.DecodeOptions(threads: 2, parallelMinimumSamples: 0)
        for file in ["jpeg_restart.jpg", "jpeg_base_422_big.jpg"] {
            let bytes = try Fixtures.bytes(file)
            for cut in 0..<(bytes.count - 2) {
                #expect(throws: ImagingError.self, "\(file) cut at \(cut)") { try JPEG.decode(Array(bytes[..<cut]), options: options) }
            }
        }
        // The CamVid frame at its default threshold: the same pixels either way.
        let frame = try Fixtures.bytes("camvid_image.jpg")
        let one = try JPEG.decode(frame, options: .init(threads: 1)), two = try JPEG.decode(frame)
        let same = one.pixels == two.pixels
        #expect(same && one.width == 480 && one.height == 360)
    }

    /// The 16-bit vectorized colour conversion equals libjpeg's 32-bit formulas for every
    /// (Cb, Cr) pair, at Y values covering both clamps.
    @Test func colourConversionMatchesTheReferenceFormulas() {
        let ys: [UInt8] = [0, 1, 2, 30, 64, 100, 127, 128, 129, 160, 200, 226, 227, 253, 254, 255]
        var cbs = [UInt8](), crs = [UInt8](), yv = [UInt8]()
        for cb in 0...255 { for cr in 0...255 { cbs.append(UInt8(cb)); crs.append(UInt8(cr)) } }
        var out = [UInt8](repeating: 0, count: cbs.count * 3)
        var mismatches = 0
        for y in ys {
            yv = [UInt8](repeating: y, count: cbs.count)
            yv.withUnsafeBufferPointer { yp in
                cbs.withUnsafeBufferPointer { cbp in
                    crs.withUnsafeBufferPointer { crp in
                        out.withUnsafeMutableBufferPointer { o in
                            JPEGDecoder.yccRow(yp.baseAddress!, cbp.baseAddress!, crp.baseAddress!, o.baseAddress!, cbs.count)
                        }
                    }
                }
            }
            for i in cbs.indices {
                let (r, g, b) = JPEGDecoder.yccRowReference(y, cbs[i], crs[i])
                if out[3 * i] != r || out[3 * i + 1] != g || out[3 * i + 2] != b { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
    }

    @Test func orientationIsReportedAndOptional() throws {
        let upright = try JPEG.decode(try Fixtures.bytes("jpeg_orient1.jpg"))
        for o in 1...8 {
            let bytes = try Fixtures.bytes("jpeg_orient\(o).jpg")
            let info = try JPEG.readInfo(bytes)
            #expect(info.orientation.rawValue == o)
            // Like Image.open().convert("RGB"): no rotation unless asked.
            #expect(try JPEG.decode(bytes) == upright)
        }
    }

    @Test func exifParsingHandlesBothByteOrdersAndGarbage() {
        let big: [UInt8] = Array("Exif".utf8) + [0, 0, 0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0, 1,
                                                 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]
        #expect(EXIF.orientation(app1: big) == .right)
        let little: [UInt8] = Array("Exif".utf8) + [0, 0, 0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0,
                                                    0x12, 0x01, 3, 0, 1, 0, 0, 0, 8, 0, 0, 0]
        #expect(EXIF.orientation(app1: little) == .left)
        // Offsets pointing outside the segment, wrong types, bad values: nil, never a trap.
        var bad = big
        bad[13] = 0xF0
        #expect(EXIF.orientation(app1: bad) == nil)
        bad = big
        bad[25] = 9
        #expect(EXIF.orientation(app1: bad) == nil)
        for cut in 0..<big.count { _ = EXIF.orientation(app1: Array(big[..<cut])) }
    }

    @Test func readInfoDescribesTheFrame() throws {
        let info = try JPEG.readInfo(try Fixtures.bytes("jpeg_prog_420.jpg"))
        #expect(info.width == 47 && info.height == 37 && info.components == 3 && info.progressive)
        #expect(info.sampling.map { [$0.h, $0.v] } == [[2, 2], [1, 1], [1, 1]])
        let i440 = try JPEG.readInfo(try Fixtures.bytes("jpeg_440.jpg"))
        #expect(i440.sampling.map { [$0.h, $0.v] } == [[1, 2], [1, 1], [1, 1]])
        #expect(try JPEG.readInfo(try Fixtures.bytes("jpeg_restart.jpg")).restartInterval == 1)
    }

    @Test func realCamVidFrameMatchesPillow() throws {
        let cam = try Fixtures.camvid()
        let image = try JPEG.decode(try Fixtures.bytes(cam.image))
        let expected = try Zlib.decompress(try Fixtures.bytes(cam.imageExpected), maxOutput: 1 << 26)
        #expect(image.width == cam.width && image.height == cam.height)
        let d = absDiff(image.pixels, expected)
        #expect(d.mean <= 1.0 && d.max <= 8)
        #expect(d.max == 0, "CamVid frame: mean |Δ| \(d.mean), max |Δ| \(d.max)")
    }

    // MARK: - Unsupported and bad input

    @Test func unsupportedVariantsSaySo() throws {
        for e in try Fixtures.entries("jpeg_bad") {
            let file = try #require(e["file"] as? String)
            let bytes = try Fixtures.bytes(file)
            do {
                _ = try JPEG.decode(bytes)
                Issue.record("\(file) decoded")
            } catch {
                #expect(error.kind == .unsupported, "\(file): \(error)")
            }
        }
    }

    @Test func truncatedFilesThrow() throws {
        for file in ["jpeg_base_420.jpg", "jpeg_prog_444.jpg", "jpeg_restart.jpg", "jpeg_gray.jpg"] {
            let bytes = try Fixtures.bytes(file)
            for cut in 0..<(bytes.count - 2) {
                // Cutting only the final EOI leaves a complete image, which libjpeg accepts too.
                #expect(throws: ImagingError.self, "\(file) cut at \(cut)") { try JPEG.decode(Array(bytes[..<cut])) }
            }
        }
    }

    @Test func corruptBytesNeverCrash() throws {
        var rng = SeededGenerator(seed: 99)
        for file in ["jpeg_base_420.jpg", "jpeg_prog_420.jpg", "jpeg_restart_prog.jpg", "jpeg_440.jpg"] {
            let bytes = try Fixtures.bytes(file)
            for _ in 0..<400 {
                var bad = bytes
                for _ in 0..<(1 + rng.int(3)) { bad[rng.int(bad.count)] = rng.byte() }
                _ = try? JPEG.decode(bad)   // an error or some pixels; never a trap
            }
        }
    }

    @Test func absurdDimensionsFailBeforeAllocating() throws {
        var bytes = try Fixtures.bytes("jpeg_base_444.jpg")
        let sof = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        // 65535 x 65535 exceeds the default 128 Mpixel limit.
        for i in 5...8 { bytes[sof + i] = 0xFF }
        do {
            _ = try JPEG.decode(bytes)
            Issue.record("65535x65535 accepted")
        } catch {
            #expect(error.kind == .tooLarge)
            #expect(error.context == "SOF0")
        }
        bytes[sof + 5] = 0
        bytes[sof + 6] = 0
        #expect(throws: ImagingError.self) { try JPEG.decode(bytes) }
        #expect(throws: ImagingError.self) { try JPEG.decode([0xFF, 0xD8, 0xFF, 0xD9]) }
        #expect(throws: ImagingError.self) { try JPEG.decode(Array("not a jpeg".utf8)) }
    }

    /// All CamVid val frames against Pillow's decode, stored by
    /// benchmarks/imaging_jpeg_camvid.py in $SEGIMAGING_JPEG_REF (raw RGB per image).
    @Test(.enabled(if: camvidAvailable && ProcessInfo.processInfo.environment["SEGIMAGING_JPEG_REF"] != nil))
    func camvidValAgainstPillow() throws {
        let ref = ProcessInfo.processInfo.environment["SEGIMAGING_JPEG_REF"] ?? ""
        let list = try String(contentsOfFile: camvidRoot + "/val.txt", encoding: .utf8)
        var total = 0.0, count = 0, worst = 0, exact = 0
        var elapsed = Duration.zero
        for line in list.split(separator: "\n") {
            guard let path = line.split(separator: " ").first else { continue }
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: camvidRoot + "/" + path)))
            let start = ContinuousClock.now
            let image = try JPEG.decode(bytes)
            elapsed += ContinuousClock.now - start
            let name = String(path.split(separator: "/").last ?? "")
            let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ref + "/" + name + ".rgb")))
            let d = absDiff(image.pixels, expected)
            total += d.mean
            count += 1
            worst = max(worst, d.max)
            if d.max == 0 { exact += 1 }
        }
        let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        print("CamVid val JPEGs: \(count) images, \(exact) bit-exact, mean |Δ| \(total / Double(max(count, 1))), "
              + "max |Δ| \(worst), \(ms / Double(max(count, 1))) ms per decode")
        #expect(total / Double(max(count, 1)) <= 1.0 && worst <= 8)
    }
}

/// `SEGIMAGING_BENCH=N`: decode the CamVid fixture frame N times (for profiling in release builds).
@Test(.enabled(if: ProcessInfo.processInfo.environment["SEGIMAGING_BENCH"] != nil))
func jpegDecodeBenchmark() throws {
    let n = Int(ProcessInfo.processInfo.environment["SEGIMAGING_BENCH"] ?? "") ?? 100
    let bytes = try Fixtures.bytes("camvid_image.jpg")
    let png = try Fixtures.bytes("camvid_label.png")
    let clock = ContinuousClock()
    let jpegTime = try clock.measure { for _ in 0..<n { _ = try JPEG.decode(bytes) } }
    let pngTime = try clock.measure { for _ in 0..<n { _ = try PNG.decode(png) } }
    let label = try PNG.decode(png)
    let encodeTime = try clock.measure { for _ in 0..<n { _ = try PNG.encode(label) } }
    print("bench: JPEG decode \(jpegTime / n), PNG decode \(pngTime / n), PNG encode \(encodeTime / n) (480x360)")
}
