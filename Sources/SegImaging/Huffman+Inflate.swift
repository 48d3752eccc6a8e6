/// A canonical Huffman decoder for deflate: a 10-bit lookup table for the
/// common short codes, and the bit-serial canonical walk of RFC 1951 §3.2.2
/// for the rest.
struct InflateHuffman {
    static let fastBits = 10
    /// `symbol << 4 | length`, or 0 when the code is longer than `fastBits`.
    private var fast: [UInt16]
    /// Codes per length, 0...15.
    private var counts: [Int]
    /// Symbols ordered by (length, value).
    private var symbols: [UInt16]

    /// Builds the decoder; over-subscribed sets are errors, and incomplete sets
    /// are allowed only for a single one-bit code (as zlib does: a block with
    /// one distance code is legal).
    init(lengths: [Int], format: String, offset: Int) throws(ImagingError) {
        var counts = [Int](repeating: 0, count: 16)
        for l in lengths { counts[l] += 1 }
        counts[0] = 0
        var left = 1
        var maxLen = 0
        for len in 1...15 {
            left <<= 1
            left -= counts[len]
            if left < 0 {
                throw ImagingError(.corrupt, format: format, offset: offset, "over-subscribed Huffman code lengths")
            }
            if counts[len] > 0 { maxLen = len }
        }
        if left > 0 && maxLen > 1 {
            throw ImagingError(.corrupt, format: format, offset: offset, "incomplete Huffman code lengths")
        }
        var offs = [Int](repeating: 0, count: 16)
        for len in 1..<15 { offs[len + 1] = offs[len] + counts[len] }
        var symbols = [UInt16](repeating: 0, count: lengths.count)
        for (sym, l) in lengths.enumerated() where l > 0 {
            symbols[offs[l]] = UInt16(sym)
            offs[l] += 1
        }
        // Fill the fast table: canonical codes are assigned in (length, symbol) order;
        // deflate sends them MSB-first inside an LSB-first stream, so index by the reversed code.
        var fast = [UInt16](repeating: 0, count: 1 << Self.fastBits)
        var code = 0
        var index = 0
        for len in 1...15 {
            for _ in 0..<counts[len] {
                if len <= Self.fastBits {
                    var rev = 0
                    for b in 0..<len where (code >> b) & 1 != 0 { rev |= 1 << (len - 1 - b) }
                    let entry = UInt16(symbols[index]) << 4 | UInt16(len)
                    var i = rev
                    while i < fast.count {
                        fast[i] = entry
                        i += 1 << len
                    }
                }
                code += 1
                index += 1
            }
            code <<= 1
        }
        self.fast = fast
        self.counts = counts
        self.symbols = symbols
    }

    @inline(__always)
    func decode(_ r: inout InflateBitReader) throws(ImagingError) -> Int {
        let entry = fast[Int(r.peek(Self.fastBits))]
        if entry != 0 {
            try r.consume(Int(entry & 15))
            return Int(entry >> 4)
        }
        return try decodeSlow(&r)
    }

    private func decodeSlow(_ r: inout InflateBitReader) throws(ImagingError) -> Int {
        var code = 0, first = 0, index = 0
        for len in 1...15 {
            code |= try r.bits(1)
            let count = counts[len]
            if code - first < count { return Int(symbols[index + code - first]) }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        throw ImagingError(.corrupt, format: r.format, offset: r.offset, "invalid Huffman code")
    }
}
