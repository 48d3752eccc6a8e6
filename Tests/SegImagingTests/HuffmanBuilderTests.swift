@testable import SegImaging
import Testing

/// Length-limited Huffman codes must satisfy Kraft's equality exactly (a complete code: zlib
/// rejects both over-subscribed and incomplete literal/length codes) and stay within the limit.
/// Skewed frequencies force trees far deeper than the limit; a missed repair there once wrote
/// overlays that zlib and PIL refuse ("invalid literal/lengths set").
struct HuffmanBuilderTests {
    static func kraftUnits(_ lengths: [Int], limit: Int) -> Int {
        lengths.filter { $0 > 0 }.reduce(0) { $0 + (1 << (limit - $1)) }
    }

    /// Fibonacci frequencies give the deepest tree there is (depth n − 1); geometric ones, the
    /// up-filtered overlay's shape (one dominant byte, a long thin tail).
    static let skewed: [(String, [Int], Int)] = {
        var fib = [1, 1]
        while fib.count < 40 { fib.append(fib[fib.count - 1] + fib[fib.count - 2]) }
        let geometric = (0..<286).map { max(1, 1_000_000 >> min($0 / 6, 40)) }
        let overlayLike = (0..<286).map { $0 == 0 ? 400_000 : ($0 < 256 ? max(1, 30_000 >> min($0, 20)) : ($0 % 7 == 0 ? 3 : 0)) }
        return [("fibonacci 40, limit 15", fib + [Int](repeating: 0, count: 246), 15),
                ("fibonacci 19, limit 7", Array(fib.prefix(19)), 7),
                ("geometric 286, limit 15", geometric, 15),
                ("overlay-like, limit 15", overlayLike, 15)]
    }()

    @Test("complete and within the limit", arguments: skewed.indices)
    func completeAndWithinLimit(_ i: Int) {
        let (name, freqs, limit) = Self.skewed[i]
        let lengths = HuffmanBuilder.lengths(freqs: freqs, limit: limit)
        #expect(lengths.max() ?? 0 <= limit, "\(name)")
        #expect(Self.kraftUnits(lengths, limit: limit) == 1 << limit, "\(name): Kraft sum")
        for (s, f) in freqs.enumerated() { #expect((f > 0) == (lengths[s] > 0), "\(name): symbol \(s)") }
    }

    @Test func moreFrequentSymbolsNeverGetLongerCodes() {
        let freqs = [5, 9, 12, 13, 16, 45, 0, 1]
        let lengths = HuffmanBuilder.lengths(freqs: freqs, limit: 15)
        // Textbook example (CLRS 16.3) plus a rare symbol: frequencies 45 > 16 > ... get 1, 3, ... bits.
        #expect(lengths[5] == 1)
        for a in freqs.indices where freqs[a] > 0 {
            for b in freqs.indices where freqs[b] > freqs[a] { #expect(lengths[b] <= lengths[a]) }
        }
        #expect(Self.kraftUnits(lengths, limit: 15) == 1 << 15)
    }

    @Test func aDeepByteDistributionRoundTripsThroughBothEncoders() throws {
        // Bytes drawn with Fibonacci-like weights: the literal code needs the length limit.
        var fib = [1, 1]
        while fib.count < 30 { fib.append(fib[fib.count - 1] + fib[fib.count - 2]) }
        var px: [UInt8] = []
        for (v, n) in fib.enumerated() { px += [UInt8](repeating: UInt8(v * 7), count: min(n, 40_000)) }
        var state: UInt32 = 99
        for i in stride(from: px.count - 1, to: 0, by: -1) {   // shuffle so runs stay short
            state = state &* 1_664_525 &+ 1_013_904_223
            px.swapAt(i, Int(state >> 8) % (i + 1))
        }
        let width = 300, height = px.count / width
        let image = try Image(width: width, height: height, channels: 1, pixels: Array(px.prefix(width * height)))
        for png in [try PNG.encodeFast(image, options: .init(filter: 0)), try PNG.encode(image)] {
            let back = try PNG.decode(png)
            let same = back.pixels == image.pixels
            #expect(same)
        }
    }
}
