/// Deflate with zlib's `Z_RLE` strategy: the only matches are runs (distance 1), coded with one
/// dynamic Huffman code per block. It finds every run a label map or a flat overlay region has,
/// which is most of what LZ77 would find there, at a few nanoseconds per byte instead of a hash
/// chain walk per byte: what a warm `model/segment` can afford for the PNGs it writes.
///
/// Pieces compressed apart (rows of one image on several threads) are joined by ending every
/// piece but the last with an empty stored block, which leaves the stream byte-aligned (zlib's
/// `Z_SYNC_FLUSH`, what pigz does); the joined bytes are one valid deflate stream.
enum DeflateRLE {
    /// Symbols per dynamic block: enough to amortise the ~60-byte header, few enough to follow
    /// the statistics down an image.
    static let blockTokens = 1 << 16

    /// Token: bits 0-8 the literal/length symbol (0...285), 9-13 the length's extra-bit value,
    /// 14-16 its extra-bit count. Every length token is followed by distance 1 (code 0).
    @inline(__always)
    static func lengthToken(_ length: Int) -> UInt32 {
        let lc = Int(DeflateBlockWriter.lengthCode[length])
        let extra = UInt32(length - Inflate.lengthBase[lc])
        return UInt32(257 + lc) | extra << 9 | UInt32(Inflate.lengthExtra[lc]) << 14
    }

    static let lengthTokens: [UInt32] = (0...258).map { $0 < 3 ? 0 : lengthToken($0) }

    /// Appends the deflate data of `data` to `w` (no zlib header or checksum).
    static func compress(_ data: UnsafeBufferPointer<UInt8>, final: Bool, into w: inout DeflateBitWriter) {
        let n = data.count
        guard let p = data.baseAddress, n > 0 else {
            if final { DeflateBlockWriter.writeFixedEmpty(&w) } else { syncFlush(&w) }
            return
        }
        var tokens = [UInt32](repeating: 0, count: min(n, blockTokens) + 8)
        // Four histograms, filled in turn: repeated bytes would otherwise make every increment
        // wait for the previous one to the same counter.
        var histograms = [Int32](repeating: 0, count: 4 * 286)
        var i = 0
        while i < n {
            var matches = 0
            var count = 0
            tokens.withUnsafeMutableBufferPointer { tb in
                histograms.withUnsafeMutableBufferPointer { hb in
                lengthTokens.withUnsafeBufferPointer { lt in
                    let t = tb.baseAddress!, h = hb.baseAddress!
                    hb.update(repeating: 0)
                    while i < n && count < blockTokens {
                        // Eight bytes at a time while no run can start: a run starts at j when
                        // p[j-1] == p[j] == p[j+1] == p[j+2]. `equal` has bit 7 of byte k set when
                        // p[i+k] == p[i+k-1]; `starts`, when that holds for k, k+1 and k+2.
                        if i > 0 && i + 8 <= n {
                            let x = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                                ^ UnsafeRawPointer(p + i - 1).loadUnaligned(as: UInt64.self)
                            let high: UInt64 = 0x8080_8080_8080_8080, low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
                            let equal = ~(((x & low7) &+ low7) | x) & high
                            let starts = equal & (equal >> 8) & (equal >> 16)
                            // Bytes before the first possible start (at most 6: the last two
                            // positions need bytes beyond this word) are literals.
                            let literals = starts == 0 ? 6 : starts.trailingZeroBitCount >> 3
                            if literals > 0 {
                                for k in 0..<literals {
                                    let b = p[i + k]
                                    t[count + k] = UInt32(b)
                                    h[(k & 3) * 286 + Int(b)] &+= 1
                                }
                                i += literals
                                count += literals
                                continue
                            }
                        }
                        let b = p[i]
                        if i > 0 && p[i - 1] == b && i + 2 < n && p[i + 1] == b && p[i + 2] == b {
                            var run = 3
                            let limit = min(258, n - i)
                            while run < limit && p[i + run] == b { run += 1 }
                            let token = lt[run]
                            t[count] = token
                            h[Int(token & 0x1FF)] &+= 1
                            matches += 1
                            i += run
                        } else {
                            t[count] = UInt32(b)
                            h[Int(b)] &+= 1
                            i += 1
                        }
                        count += 1
                    }
                }
                }
            }
            var litFreq = [Int](repeating: 0, count: 286)
            for s in 0..<286 { litFreq[s] = Int(histograms[s] + histograms[286 + s] + histograms[572 + s] + histograms[858 + s]) }
            litFreq[256] = 1
            writeBlock(tokens, count: count, litFreq: litFreq, matches: matches, final: final && i >= n, into: &w)
        }
        if !final { syncFlush(&w) }
    }

    /// An empty, non-final stored block: byte-aligns the stream so another piece can follow.
    static func syncFlush(_ w: inout DeflateBitWriter) {
        w.write(0, 1)
        w.write(0, 2)
        w.alignToByte()
        w.write(0x0000, 16)
        w.write(0xFFFF, 16)
    }

    private static func writeBlock(_ tokens: [UInt32], count: Int, litFreq: [Int], matches: Int, final: Bool,
                                   into w: inout DeflateBitWriter) {
        let litLengths = HuffmanBuilder.lengths(freqs: litFreq, limit: 15)
        // Runs all use distance 1: one distance code of one bit ("0"; a lone code may be
        // incomplete, RFC 1951 §3.2.7). An unused one otherwise: a dynamic block must declare one.
        var distLengths = [Int](repeating: 0, count: 30)
        distLengths[0] = 1
        let header = DynamicHeader(litLengths: litLengths, distLengths: distLengths)
        w.write(final ? 1 : 0, 1)
        w.write(2, 2)
        header.write(&w)

        let codes = HuffmanBuilder.reversedCodes(lengths: litLengths)
        // Code and length per symbol in one word, so the loop below does one table read.
        var table = [UInt64](repeating: 0, count: 286)
        var totalBits = matches * 6   // ≤ 5 extra bits and the 1-bit distance per run
        for s in 0..<286 {
            table[s] = UInt64(codes[s]) | UInt64(litLengths[s]) << 32
            totalBits += litFreq[s] * litLengths[s]
        }
        // A token is at most 15 + 5 + 1 = 21 bits, so 64-bit accumulator with fewer than 32
        // bits pending always has room for the next one; 32 bits are stored at a time.
        w.appendBulk(maxBytes: totalBits / 8 + 16) { o, pendingBits, pendingCount in
            var acc = pendingBits, bits = pendingCount
            var written = 0
            tokens.withUnsafeBufferPointer { tb in
                table.withUnsafeBufferPointer { tab in
                    for k in 0..<count {
                        // Branch-free: a literal's token has no extra-bit fields and sym < 256;
                        // a length adds its extra bits and the distance bit (0), sym >> 8 == 1.
                        let tok = tb[k]
                        let sym = Int(tok & 0x1FF)
                        let e = tab[sym]
                        let n = e &>> 32
                        // Masking shifts and wrapping adds: every amount here is below 64 and
                        // no sum can overflow, so Swift's checked forms only cost time.
                        let value = (e & 0xFFFF_FFFF) | UInt64((tok &>> 9) & 0x1F) &<< n
                        acc |= value &<< bits
                        bits = bits &+ n &+ UInt64((tok &>> 14) & 7) &+ UInt64(sym &>> 8)
                        // Always store the low 32 bits; keep them only when they are complete.
                        UnsafeMutableRawPointer(o + written).storeBytes(of: UInt32(truncatingIfNeeded: acc).littleEndian, as: UInt32.self)
                        let full = bits &>> 5   // 0 or 1: bits < 32 + 21
                        written = written &+ Int(full &<< 2)
                        acc = acc &>> (full &<< 5)
                        bits = bits &- (full &<< 5)
                    }
                }
            }
            while bits >= 8 {
                o[written] = UInt8(truncatingIfNeeded: acc)
                written += 1
                acc >>= 8
                bits -= 8
            }
            return (written, acc, bits)
        }
        w.write(UInt32(codes[256]), litLengths[256])
    }
}
