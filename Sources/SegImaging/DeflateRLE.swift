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
        var tokens = [UInt32](repeating: 0, count: min(n, blockTokens) + 1)
        var i = 0
        while i < n {
            var litFreq = [Int](repeating: 0, count: 286)
            var matches = 0
            var count = 0
            tokens.withUnsafeMutableBufferPointer { tb in
                litFreq.withUnsafeMutableBufferPointer { freq in
                lengthTokens.withUnsafeBufferPointer { lt in
                    let t = tb.baseAddress!, litFreq = freq.baseAddress!
                    while i < n && count < blockTokens {
                        let b = p[i]
                        if i > 0 && p[i - 1] == b && i + 2 < n && p[i + 1] == b && p[i + 2] == b {
                            var run = 3
                            let limit = min(258, n - i)
                            while run < limit && p[i + run] == b { run += 1 }
                            let token = lt[run]
                            t[count] = token
                            litFreq[Int(token & 0x1FF)] += 1
                            matches += 1
                            i += run
                        } else {
                            t[count] = UInt32(b)
                            litFreq[Int(b)] += 1
                            i += 1
                        }
                        count += 1
                    }
                }
                }
            }
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
        // Distance code 0 alone when there are runs; an unused one-bit code otherwise (a dynamic
        // block must declare at least one distance code).
        var distFreq = [Int](repeating: 0, count: 30)
        distFreq[0] = max(matches, 1)
        var distLengths = HuffmanBuilder.lengths(freqs: distFreq, limit: 15)
        if distLengths[0] == 0 { distLengths[0] = 1 }
        let header = DynamicHeader(litLengths: litLengths, distLengths: distLengths)
        w.write(final ? 1 : 0, 1)
        w.write(2, 2)
        header.write(&w)

        let codes = HuffmanBuilder.reversedCodes(lengths: litLengths)
        // Code and length per symbol in one word, so the loop below does one table read.
        var table = [UInt64](repeating: 0, count: 286)
        for s in 0..<286 { table[s] = UInt64(codes[s]) | UInt64(litLengths[s]) << 32 }
        let distCode = UInt64(HuffmanBuilder.reversedCodes(lengths: distLengths)[0])
        let distBits = UInt64(distLengths[0])

        // 64-bit accumulator flushed a whole byte count at a time into a buffer sized for the
        // worst case (35 bits per token), appended to the writer's bytes at the end.
        var (acc, bits) = w.takePendingBits()
        var out = [UInt8](repeating: 0, count: count * 5 + 16)
        var written = 0
        out.withUnsafeMutableBytes { ob in
            let o = ob.baseAddress!
            tokens.withUnsafeBufferPointer { tb in
                table.withUnsafeBufferPointer { tab in
                    for k in 0..<count {
                        let tok = tb[k]
                        let sym = Int(tok & 0x1FF)
                        let e = tab[sym]
                        var value = e & 0xFFFF_FFFF
                        var n = e >> 32
                        if sym > 256 {
                            let extraCount = UInt64((tok >> 14) & 7)
                            value |= UInt64((tok >> 9) & 0x1F) << n
                            n += extraCount
                            value |= distCode << n
                            n += distBits
                        }
                        acc |= value << bits
                        bits += n
                        (o + written).storeBytes(of: acc.littleEndian, toByteOffset: 0, as: UInt64.self)
                        let whole = bits >> 3
                        written += Int(whole)
                        // `whole` ≤ 5 here (bits < 8 + 35), so the shift stays below 64.
                        acc = whole == 0 ? acc : acc >> (whole << 3)
                        bits &= 7
                    }
                }
            }
        }
        w.appendAligned(out[0..<written], pendingBits: acc, count: bits)
        w.write(UInt32(codes[256]), litLengths[256])
    }
}
