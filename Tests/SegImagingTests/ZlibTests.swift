import SegTensor
import Foundation
import Testing
@testable import SegImaging

@Suite("zlib / deflate")
struct ZlibTests {
    @Test func crcAndAdlerKnownValues() {
        let s = Array("123456789".utf8)
        #expect(Checksum.crc32(s) == 0xCBF4_3926)
        #expect(Checksum.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
        // Chained use equals one pass.
        #expect(Checksum.crc32(s[4...], crc: Checksum.crc32(s[..<4])) == Checksum.crc32(s))
        #expect(Checksum.adler32(s[4...], adler: Checksum.adler32(s[..<4])) == Checksum.adler32(s))
    }

    @Test func roundTripVariedInputs() throws {
        var rng = SeededGenerator(seed: 7)
        var inputs: [[UInt8]] = [[], [42], Array("abcabcabcabcabc".utf8), [UInt8](repeating: 0, count: 100_000)]
        inputs.append((0..<70_000).map { _ in rng.byte() })                       // incompressible → stored
        inputs.append((0..<50_000).map { i in UInt8((i / 7) % 11) })             // label-like runs
        inputs.append((0..<40_000).map { _ in UInt8(rng.int(4)) * 60 })          // few symbols
        for input in inputs {
            let z = Zlib.compress(input)
            let back = try Zlib.decompress(z, maxOutput: input.count)
            #expect(back == input, "round trip of \(input.count) bytes")
        }
    }

    @Test func decodesZlibProducedStreams() throws {
        for entry in try Fixtures.entries("zlib") {
            let name = try #require(entry["file"] as? String)
            let rawName = try #require(entry["raw"] as? String)
            let raw = try Fixtures.bytes(rawName)
            let z = try Fixtures.bytes(name)
            #expect(try Zlib.decompress(z, maxOutput: raw.count) == raw, "\(name)")
        }
    }

    @Test func rejectsCorruptStreams() throws {
        let input = (0..<5000).map { UInt8(($0 * 7) % 13) }
        let z = Zlib.compress(input)
        // Truncation anywhere must throw, never trap.
        for cut in stride(from: 0, to: z.count, by: max(1, z.count / 97)) {
            #expect(throws: ImagingError.self) { try Zlib.decompress(Array(z[..<cut]), maxOutput: input.count) }
        }
        // Flipped bytes: either an error or (rarely) different output caught by Adler-32; never a crash.
        for pos in 2..<z.count {
            var bad = z
            bad[pos] ^= 0x5A
            #expect(throws: ImagingError.self) { try Zlib.decompress(bad, maxOutput: input.count) }
        }
        // Output limit is enforced.
        #expect(throws: ImagingError.self) { try Zlib.decompress(z, maxOutput: input.count - 1) }
        var badAdler = z
        badAdler[badAdler.count - 1] ^= 1
        do {
            _ = try Zlib.decompress(badAdler, maxOutput: input.count)
            Issue.record("bad Adler-32 accepted")
        } catch {
            #expect(error.kind == .checksum)
        }
    }

    @Test func sizeWithinZlibLevel6() throws {
        for entry in try Fixtures.entries("deflate_ratio") {
            let rawName = try #require(entry["raw"] as? String)
            let zlib6 = try #require(entry["zlib6"] as? Int)
            var raw = try Fixtures.bytes(rawName)
            if rawName.hasSuffix(".z") { raw = try Zlib.decompress(raw, maxOutput: 1 << 26) }
            let ours = Zlib.compress(raw).count
            #expect(Double(ours) <= 1.3 * Double(zlib6), "\(rawName): \(ours) vs zlib-6 \(zlib6)")
        }
    }

    /// Dev check driven by benchmarks/imaging_deflate_ratio.py: compresses every
    /// `*.raw` in the directory it names and writes `*.swz` beside it.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SEGIMAGING_DEFLATE_BENCH_DIR"] != nil))
    func deflateBenchmarkDump() throws {
        let dir = ProcessInfo.processInfo.environment["SEGIMAGING_DEFLATE_BENCH_DIR"] ?? ""
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            if name.hasSuffix(".raw") {
                try Data(Zlib.compress(bytes)).write(to: URL(fileURLWithPath: dir + "/" + name.dropLast(4) + ".swz"))
            } else if name.hasSuffix(".png") {
                // Whole-PNG comparison: decode Pillow's file, re-encode with our defaults.
                let png = try PNG.encode(try PNG.decode(bytes))
                try Data(png).write(to: URL(fileURLWithPath: dir + "/" + name.dropLast(4) + ".swpng"))
            }
        }
    }
}
