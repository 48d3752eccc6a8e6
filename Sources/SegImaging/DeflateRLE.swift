/// Deflate with zlib's `Z_RLE` strategy: the only matches are runs (distance 1), coded with one
/// dynamic Huffman code per block. It finds every run a label map or a flat overlay region has,
/// which is most of what LZ77 would find there, at about a nanosecond per byte instead of a hash
/// chain walk per byte: what a warm `model/segment` can afford for the PNGs it writes.
///
/// Three passes per block, none of which builds a token stream: find the runs (eight bytes at a
/// time where none can start), count symbols (a byte histogram, less the bytes runs cover), and
/// emit codes straight from the data between runs.
///
/// Pieces compressed apart (rows of one image on several threads) are joined by ending every
/// piece but the last with an empty stored block, which leaves the stream byte-aligned (zlib's
/// `Z_SYNC_FLUSH`, what pigz does); the joined bytes are one valid deflate stream.
enum DeflateRLE {
    /// Input bytes per dynamic block: enough to amortise the ~60-byte header, few enough to
    /// follow the statistics down an image.
    static let blockBytes = 1 << 17

    /// Per run length 3...258: its length symbol (257...285), extra-bit value and count.
    static let lengthSymbols: [(symbol: Int, extra: UInt64, extraBits: UInt64)] = (0...258).map { length in
        guard length >= 3 else { return (0, 0, 0) }
        let lc = Int(DeflateBlockWriter.lengthCode[length])
        return (257 + lc, UInt64(length - Inflate.lengthBase[lc]), UInt64(Inflate.lengthExtra[lc]))
    }

    /// Appends the deflate data of `data` to `w` (no zlib header or checksum). `runs` false
    /// codes literals only (zlib's `Z_HUFFMAN_ONLY`): no run search, for data where runs are
    /// short and save little (filtered photos, overlays: 7% larger than with runs on CamVid).
    static func compress(_ data: UnsafeBufferPointer<UInt8>, final: Bool, runs: Bool = true, into w: inout DeflateBitWriter) {
        let n = data.count
        guard let p = data.baseAddress, n > 0 else {
            if final { DeflateBlockWriter.writeFixedEmpty(&w) } else { syncFlush(&w) }
            return
        }
        var runStarts: [Int] = [], runLengths: [Int] = []
        // A run covers at least 3 bytes: this many never reallocate.
        runStarts.reserveCapacity(min(n, blockBytes) / 3 + 1)
        runLengths.reserveCapacity(min(n, blockBytes) / 3 + 1)
        var start = 0
        while start < n {
            let end = min(n, start + blockBytes)
            runStarts.removeAll(keepingCapacity: true)
            runLengths.removeAll(keepingCapacity: true)
            if runs { findRuns(p, from: start, to: end, starts: &runStarts, lengths: &runLengths) }
            let freq = symbolCounts(p, from: start, to: end, runStarts: runStarts, runLengths: runLengths)
            writeBlock(p, from: start, to: end, runStarts: runStarts, runLengths: runLengths, litFreq: freq,
                       final: final && end == n, into: &w)
            start = end
        }
        if !final { syncFlush(&w) }
    }

    /// Runs in `from..<to`: a run starts at i when p[i-1] == p[i] == p[i+1] == p[i+2] (the copy
    /// at distance 1 repeats p[i-1]) and extends while the byte repeats, up to 258.
    private static func findRuns(_ p: UnsafePointer<UInt8>, from: Int, to end: Int, starts: inout [Int], lengths: inout [Int]) {
        var i = max(from, 1)
        let high: UInt64 = 0x8080_8080_8080_8080, low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        while i + 2 < end {
            if i + 8 <= end {
                // Bit 7 of byte k of `equal`: p[i+k] == p[i+k-1]; of `candidates`: that holds
                // for k, k+1 and k+2. The last two positions need bytes past this word.
                let x = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) ^ UnsafeRawPointer(p + i - 1).loadUnaligned(as: UInt64.self)
                let equal = ~(((x & low7) &+ low7) | x) & high
                let candidates = equal & (equal &>> 8) & (equal &>> 16)
                if candidates == 0 { i += 6; continue }
                i += candidates.trailingZeroBitCount &>> 3
            }
            let b = p[i]
            if p[i - 1] == b && p[i + 1] == b && p[i + 2] == b {
                var run = 3
                let limit = min(258, end - i)
                // Eight bytes at a time: the first byte that differs ends the run.
                let repeated = UInt64(b) &* 0x0101_0101_0101_0101
                var open = true
                while open && run + 8 <= limit {
                    let x = UnsafeRawPointer(p + i + run).loadUnaligned(as: UInt64.self) ^ repeated
                    if x == 0 { run += 8 } else { run += x.littleEndian.trailingZeroBitCount &>> 3; open = false }
                }
                while open && run < limit && p[i + run] == b { run += 1 }
                starts.append(i)
                lengths.append(run)
                i += run
            } else {
                i += 1
            }
        }
    }

    /// Literal/length symbol counts: every byte of the block, less the bytes runs cover, plus
    /// each run's length symbol and the end of block.
    private static func symbolCounts(_ p: UnsafePointer<UInt8>, from: Int, to end: Int, runStarts: [Int], runLengths: [Int]) -> [Int] {
        // Four histograms filled in turn, so repeated bytes do not wait on one counter.
        var h = [Int32](repeating: 0, count: 4 * 256)
        h.withUnsafeMutableBufferPointer { hb in
            let h = hb.baseAddress!
            var i = from
            while i + 4 <= end {
                h[Int(p[i])] &+= 1
                h[256 + Int(p[i + 1])] &+= 1
                h[512 + Int(p[i + 2])] &+= 1
                h[768 + Int(p[i + 3])] &+= 1
                i += 4
            }
            while i < end { h[Int(p[i])] &+= 1; i += 1 }
        }
        var freq = [Int](repeating: 0, count: 286)
        for b in 0..<256 { freq[b] = Int(h[b]) + Int(h[256 + b]) + Int(h[512 + b]) + Int(h[768 + b]) }
        let symbols = lengthSymbols   // one lazy-global check, not one per run
        for (s, length) in zip(runStarts, runLengths) {
            freq[Int(p[s])] -= length
            freq[symbols[length].symbol] += 1
        }
        freq[256] = 1
        return freq
    }

    /// An empty, non-final stored block: byte-aligns the stream so another piece can follow.
    static func syncFlush(_ w: inout DeflateBitWriter) {
        w.write(0, 1)
        w.write(0, 2)
        w.alignToByte()
        w.write(0x0000, 16)
        w.write(0xFFFF, 16)
    }

    private static func writeBlock(_ p: UnsafePointer<UInt8>, from: Int, to end: Int, runStarts: [Int], runLengths: [Int],
                                   litFreq: [Int], final: Bool, into w: inout DeflateBitWriter) {
        let litLengths = HuffmanBuilder.lengths(freqs: litFreq, limit: 15)
        // Runs all use distance 1: one distance code of one bit ("0"; a lone code may be
        // incomplete, RFC 1951 §3.2.7). Declared even without runs: a dynamic block needs one.
        var distLengths = [Int](repeating: 0, count: 30)
        distLengths[0] = 1
        let header = DynamicHeader(litLengths: litLengths, distLengths: distLengths)
        w.write(final ? 1 : 0, 1)
        w.write(2, 2)
        header.write(&w)

        let codes = HuffmanBuilder.reversedCodes(lengths: litLengths)
        // Code and length per symbol in one word, so each symbol is one table read.
        var table = [UInt64](repeating: 0, count: 286)
        var totalBits = runStarts.count * 6   // ≤ 5 extra bits and the distance bit per run
        for s in 0..<286 {
            table[s] = UInt64(codes[s]) | UInt64(litLengths[s]) << 32
            totalBits += litFreq[s] * litLengths[s]
        }
        // The accumulator keeps fewer than 8 bits between flushes, so it has room for three
        // literals (3 × 15 bits) or one run (15 + 5 + 1 = 21 bits); each flush stores 8 bytes
        // and keeps the whole bytes written (the stores may run up to 8 bytes past the end,
        // inside the slack `maxBytes` leaves). Three literals share one flush, so their table
        // reads and shifts overlap instead of queueing on the accumulator. Masking shifts and
        // wrapping adds: every amount is below 64 and no sum overflows.
        w.appendBulk(maxBytes: totalBits / 8 + 16) { o, pendingBits, pendingCount in
            var acc = pendingBits, bits = pendingCount
            var written = 0
            @inline(__always) func flush() {
                UnsafeMutableRawPointer(o + written).storeBytes(of: acc.littleEndian, as: UInt64.self)
                let whole = bits & ~7
                written = written &+ Int(whole &>> 3)
                acc = acc &>> whole
                bits = bits &- whole
            }
            let symbols = lengthSymbols   // one lazy-global check, not one per run
            table.withUnsafeBufferPointer { tb in
                let tab = tb.baseAddress!
                let low: UInt64 = 0xFFFF_FFFF
                var i = from
                for r in 0...runStarts.count {
                    let literalsEnd = r < runStarts.count ? runStarts[r] : end
                    while i &+ 3 <= literalsEnd {
                        let e0 = tab[Int(p[i])], e1 = tab[Int(p[i &+ 1])], e2 = tab[Int(p[i &+ 2])]
                        let n0 = e0 &>> 32, n01 = n0 &+ e1 &>> 32
                        acc |= ((e0 & low) | (e1 & low) &<< n0 | (e2 & low) &<< n01) &<< bits
                        bits = bits &+ n01 &+ e2 &>> 32
                        flush()
                        i = i &+ 3
                    }
                    while i < literalsEnd {
                        let e = tab[Int(p[i])]
                        acc |= (e & low) &<< bits
                        bits = bits &+ e &>> 32
                        i = i &+ 1
                    }
                    flush()
                    guard r < runStarts.count else { break }
                    let length = runLengths[r]
                    let (symbol, extra, extraBits) = symbols[length]
                    let e = tab[symbol]
                    let n = e &>> 32
                    // Length code, its extra bits, then distance code 0 (a single 0 bit).
                    acc |= ((e & low) | extra &<< n) &<< bits
                    bits = bits &+ n &+ extraBits &+ 1
                    flush()
                    i = i &+ length
                }
            }
            return (written, acc, bits)
        }
        w.write(UInt32(codes[256]), litLengths[256])
    }
}
