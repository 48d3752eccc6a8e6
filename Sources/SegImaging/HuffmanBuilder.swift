/// Length-limited Huffman code construction, shared by the deflate encoder.
enum HuffmanBuilder {
    /// Code lengths (0 = unused) for `freqs`, none longer than `limit`.
    ///
    /// Builds an ordinary Huffman tree, then, if it is too deep, moves leaves up
    /// the way zlib's `gen_bitlen` does (the depth histogram is repaired, then
    /// lengths are handed out to symbols by frequency). At least two symbols
    /// always get a code so that the code is complete, which every decoder accepts.
    static func lengths(freqs: [Int], limit: Int) -> [Int] {
        var f = freqs
        var used = f.indices.filter { f[$0] > 0 }
        var k = 0
        while used.count < 2 {
            if f[k] == 0 { f[k] = 1; used.append(k) }
            k += 1
        }
        // Two-queue Huffman: leaves sorted by frequency, internal nodes created in nondecreasing order.
        let leaves = used.sorted { (f[$0], $0) < (f[$1], $1) }
        let n = leaves.count
        var weight = leaves.map { f[$0] } + [Int](repeating: 0, count: n - 1)
        var parent = [Int](repeating: -1, count: 2 * n - 1)
        var li = 0, ii = n, next = n
        func pick() -> Int {
            if li < n && (ii >= next || weight[li] <= weight[ii]) { li += 1; return li - 1 }
            ii += 1
            return ii - 1
        }
        while next < 2 * n - 1 {
            let a = pick(), b = pick()
            weight[next] = weight[a] + weight[b]
            parent[a] = next
            parent[b] = next
            next += 1
        }
        // Depths from the root down (parents have larger indices), each capped at `limit` as
        // zlib's `gen_bitlen` does: a node's depth is its capped parent's plus one, and every
        // node (leaf or internal) that had to be capped counts as overflow. Counting internal
        // nodes too is what makes the repair below restore Kraft's equality exactly; counting
        // capped leaves alone under-repairs trees deeper than limit + 1 (an over-subscribed
        // code that zlib rejects: "invalid literal/lengths set").
        var depth = [Int](repeating: 0, count: 2 * n - 1)
        var blCount = [Int](repeating: 0, count: limit + 1)
        var overflow = 0
        for node in stride(from: 2 * n - 2, through: 0, by: -1) {
            var d = node == 2 * n - 2 ? 0 : depth[parent[node]] + 1
            if d > limit { d = limit; overflow += 1 }
            depth[node] = d
            if node < n { blCount[d] += 1 }
        }
        while overflow > 0 {
            // Move a leaf from the deepest level above `limit` one down, with an overflowed leaf
            // as its sibling.
            var bits = limit - 1
            while blCount[bits] == 0 { bits -= 1 }
            blCount[bits] -= 1
            blCount[bits + 1] += 2
            blCount[limit] -= 1
            overflow -= 2
        }
        // Longest codes to the least frequent symbols (`leaves` is in increasing frequency).
        var out = [Int](repeating: 0, count: freqs.count)
        var idx = 0
        for len in stride(from: limit, through: 1, by: -1) {
            for _ in 0..<blCount[len] {
                out[leaves[idx]] = len
                idx += 1
            }
        }
        return out
    }

    /// Canonical codes for `lengths` (RFC 1951 §3.2.2), bit-reversed so that an
    /// LSB-first writer emits them MSB-first as deflate requires.
    static func reversedCodes(lengths: [Int]) -> [UInt32] {
        var blCount = [Int](repeating: 0, count: 16)
        for l in lengths where l > 0 { blCount[l] += 1 }
        var nextCode = [Int](repeating: 0, count: 16)
        var code = 0
        for bits in 1...15 {
            nextCode[bits] = code
            code = (code + blCount[bits]) << 1
        }
        var out = [UInt32](repeating: 0, count: lengths.count)
        for (sym, len) in lengths.enumerated() where len > 0 {
            let c = nextCode[len]
            nextCode[len] += 1
            var rev: UInt32 = 0
            for b in 0..<len where (c >> b) & 1 != 0 { rev |= 1 << UInt32(len - 1 - b) }
            out[sym] = rev
        }
        return out
    }
}

/// LSB-first bit writer for deflate.
struct DeflateBitWriter {
    var bytes: [UInt8] = []
    private var buffer: UInt64 = 0
    private var count = 0

    @inline(__always)
    mutating func write(_ value: UInt32, _ n: Int) {
        buffer |= UInt64(value) << UInt64(count)
        count += n
        while count >= 8 {
            bytes.append(UInt8(truncatingIfNeeded: buffer))
            buffer >>= 8
            count -= 8
        }
    }

    mutating func alignToByte() {
        if count > 0 { write(0, 8 - count) }
    }

    /// Lets a bulk encoder write straight after the bytes so far: `body` gets room for
    /// `maxBytes` bytes and the pending bits (fewer than 8), and returns how many whole bytes it
    /// wrote and the bits it leaves pending (fewer than 8).
    mutating func appendBulk(maxBytes: Int,
                             _ body: (UnsafeMutablePointer<UInt8>, _ bits: UInt64, _ count: UInt64) -> (written: Int, bits: UInt64, count: UInt64)) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: maxBytes))
        let (bits, pending) = (buffer, UInt64(count))
        let result = bytes.withUnsafeMutableBufferPointer { body($0.baseAddress! + start, bits, pending) }
        bytes.removeLast(maxBytes - min(result.written, maxBytes))
        buffer = result.bits & ((1 << result.count) - 1)
        count = Int(result.count)
    }
}
