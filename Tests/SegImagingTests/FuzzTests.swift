import SegTensor
import Foundation
import Testing
@testable import SegImaging

/// Seeded mutations of every PNG and JPEG fixture (all tiny, so a debug build runs a few
/// thousand in seconds): each outcome must be an image or an `ImagingError` of a file-content
/// kind (truncated, corrupt, checksum, unsupported, tooLarge), never a trap and never
/// `invalidArgument` or `io`, which would blame the caller for the file's bytes. A PNG cut
/// short or changed in place must be refused (its CRCs and IEND make every change visible); a
/// JPEG cut before its final EOI too. Long runs:
/// `SEGIMAGING_FUZZ=2000 swift test -c release -Xswiftc -enable-testing --filter FuzzTests`
/// (mutations per fixture; 60 by default).
@Suite("fuzz")
struct FuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["SEGIMAGING_FUZZ"] ?? "") ?? 60

    static let contentKinds: Set<ImagingError.Kind> = [.truncated, .corrupt, .checksum, .unsupported, .tooLarge]

    /// The format fixtures (png_*, jpeg_*), not the full-size CamVid frame.
    static func fixtureFiles() throws -> [String] {
        let dir = try Fixtures.url("")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { ($0.hasPrefix("png_") && $0.hasSuffix(".png")) || ($0.hasPrefix("jpeg_") && $0.hasSuffix(".jpg")) }.sorted()
        guard !files.isEmpty else { throw FixtureMissing(name: "png_*/jpeg_* fixtures") }
        return files
    }

    enum Mutation: Int, CaseIterable { case replaceBytes, truncate, insert, remove, extremeBytes }

    static func mutate(_ bytes: [UInt8], _ rng: inout SeededGenerator) -> ([UInt8], Mutation) {
        var b = bytes
        let kind = Mutation(rawValue: rng.int(5)) ?? .replaceBytes
        switch kind {
        case .replaceBytes:
            for _ in 0..<(1 + rng.int(4)) { b[rng.int(b.count)] = rng.byte() }
        case .truncate:
            b = Array(b[..<rng.int(b.count)])
        case .insert:
            let i = rng.int(b.count)
            b.insert(contentsOf: (0..<(1 + rng.int(8))).map { _ in rng.byte() }, at: i)
        case .remove:
            let i = rng.int(b.count)
            b.removeSubrange(i..<min(b.count, i + 1 + rng.int(16)))
        case .extremeBytes:
            for _ in 0..<(1 + rng.int(3)) { b[rng.int(b.count)] = [0x00, 0xFF, 0x7F, 0x80][rng.int(4)] }
        }
        return (b, kind)
    }

    /// The decode's outcome: nil for an image, else its error (anything but an `ImagingError`
    /// is recorded as a failure and reported as `.io`, which no check accepts).
    static func outcome(_ body: () throws -> Void) -> ImagingError? {
        do {
            try body()
            return nil
        } catch let error as ImagingError {
            return error
        } catch {
            Issue.record("not an ImagingError: \(error)")
            return ImagingError(.io, format: "test", "\(error)")
        }
    }

    @Test func mutatedFilesAreImagesOrContentErrors() throws {
        var rng = SeededGenerator(seed: 2024)
        var kinds: [ImagingError.Kind: Int] = [:]
        var decoded = 0, mutations = 0
        let unsupported = Set(try Fixtures.entries("jpeg_bad").compactMap { $0["file"] as? String })
        #expect(unsupported.count == 3)
        for file in try Self.fixtureFiles() {
            let bytes = try Fixtures.bytes(file)
            let isPNG = file.hasSuffix(".png")
            for n in 0..<Self.iterations {
                let (bad, mutation) = Self.mutate(bytes, &rng)
                mutations += 1
                let error = Self.outcome { _ = try ImageIO.decode(bad, applyOrientation: true) }
                let labelError = Self.outcome { _ = try ImageIO.decodeLabel(bad) }
                for e in [error, labelError].compactMap({ $0 }) {
                    #expect(Self.contentKinds.contains(e.kind), "\(file) #\(n) \(mutation): \(e)")
                }
                guard let error else {
                    decoded += 1
                    // Cut short: a PNG always, a JPEG unless only its EOI marker went.
                    if mutation == .truncate {
                        #expect(!isPNG && bad.count >= bytes.count - 2, "\(file) #\(n): cut to \(bad.count) of \(bytes.count) bytes decoded")
                    }
                    // Changed in place: a CRC or the signature sees it in a PNG.
                    if isPNG && bad.count == bytes.count && bad != bytes {
                        Issue.record("\(file) #\(n) \(mutation): a changed PNG decoded")
                    }
                    continue
                }
                kinds[error.kind, default: 0] += 1
                // A cut file is truncated (or corrupt where the cut lands in a length); it may be
                // unsupported only when the fixture is (arithmetic, lossless, CMYK JPEG) or the cut
                // left less than a PNG signature to recognise the format by.
                if mutation == .truncate {
                    let mayBeUnsupported = unsupported.contains(file) || bad.count < 8
                    #expect([.truncated, .corrupt].contains(error.kind) || (mayBeUnsupported && error.kind == .unsupported),
                            "\(file) #\(n): cut to \(bad.count) bytes: \(error)")
                }
            }
        }
        #expect(mutations >= 3000 || Self.iterations < 60, "\(mutations) mutations")
        // Every content kind a mutation can cause shows up (a run that only ever saw one kind
        // would not be exercising the decoders).
        #expect(kinds[.truncated, default: 0] > 0 && kinds[.corrupt, default: 0] > 0 && kinds[.checksum, default: 0] > 0, "\(kinds)")
        print("fuzz: \(mutations) mutations, \(decoded) decoded, refused \(kinds)")
    }

    /// Mutated chunk payloads re-signed with valid CRCs, so the inflater and unfilterer see the
    /// damage: only content errors.
    @Test func resignedPNGPayloadsAreImagesOrContentErrors() throws {
        var rng = SeededGenerator(seed: 77)
        var refused = 0
        for file in try Self.fixtureFiles() where file.hasSuffix(".png") {
            let chunks = try splitChunks(try Fixtures.bytes(file))
            for n in 0..<(Self.iterations / 2) {
                var c = chunks
                let k = rng.int(c.count)
                if !c[k].data.isEmpty { c[k].data = Self.mutate(c[k].data, &rng).0 }
                let bytes = joinChunks(c)
                for e in [Self.outcome { _ = try PNG.decode(bytes) }, Self.outcome { _ = try PNG.decode16(bytes) }].compactMap({ $0 }) {
                    #expect(Self.contentKinds.contains(e.kind), "\(file) #\(n): \(e)")
                    refused += 1
                }
            }
        }
        #expect(refused > 0)
    }
}
