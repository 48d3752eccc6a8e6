import SegTensor
import Foundation
import Testing
@testable import SegImaging

/// Long mutation runs over every fixture, for release builds:
/// `SEGIMAGING_FUZZ=2000 swift test -c release -Xswiftc -enable-testing --filter FuzzTests`.
/// Passing means no input trapped; every outcome is an image or an `ImagingError`.
@Suite("fuzz", .enabled(if: ProcessInfo.processInfo.environment["SEGIMAGING_FUZZ"] != nil))
struct FuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["SEGIMAGING_FUZZ"] ?? "") ?? 200

    static func fixtureFiles() throws -> [String] {
        let dir = try Fixtures.url("")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }.sorted()
    }

    static func mutate(_ bytes: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var b = bytes
        switch rng.int(5) {
        case 0:
            for _ in 0..<(1 + rng.int(4)) { b[rng.int(b.count)] = rng.byte() }
        case 1:
            b = Array(b[..<rng.int(b.count)])
        case 2:
            let i = rng.int(b.count)
            b.insert(contentsOf: (0..<(1 + rng.int(8))).map { _ in rng.byte() }, at: i)
        case 3:
            let i = rng.int(b.count)
            b.removeSubrange(i..<min(b.count, i + 1 + rng.int(16)))
        default:
            for _ in 0..<(1 + rng.int(3)) { b[rng.int(b.count)] = [0x00, 0xFF, 0x7F, 0x80][rng.int(4)] }
        }
        return b
    }

    @Test func mutatedFilesNeverTrap() throws {
        var rng = SeededGenerator(seed: 2024)
        var errors = 0, decoded = 0
        for file in try Self.fixtureFiles() {
            let bytes = try Fixtures.bytes(file)
            for _ in 0..<Self.iterations {
                let bad = Self.mutate(bytes, &rng)
                if (try? ImageIO.decode(bad, applyOrientation: true)) != nil { decoded += 1 } else { errors += 1 }
                _ = try? ImageIO.decodeLabel(bad)
            }
        }
        print("fuzz: \(decoded) mutated files decoded, \(errors) rejected")
    }

    @Test func resignedPNGPayloadsNeverTrap() throws {
        var rng = SeededGenerator(seed: 77)
        for file in try Self.fixtureFiles() where file.hasSuffix(".png") && file.hasPrefix("png_") {
            let chunks = try splitChunks(try Fixtures.bytes(file))
            for _ in 0..<Self.iterations {
                var c = chunks
                let k = rng.int(c.count)
                if !c[k].data.isEmpty { c[k].data = Self.mutate(c[k].data, &rng) }
                _ = try? PNG.decode(joinChunks(c))
                _ = try? PNG.decode16(joinChunks(c))
            }
        }
    }
}
