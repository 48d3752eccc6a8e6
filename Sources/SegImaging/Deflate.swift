/// Deflate compression (RFC 1951): LZ77 over hash chains with one-step lazy
/// matching (the strategy of zlib's levels 4–9), and per-block choice of
/// dynamic Huffman, fixed Huffman or stored, whichever is smallest.
package struct DeflateOptions: Sendable, Equatable {
    /// Longest hash chain walked per position.
    package var maxChain: Int
    /// A match this long is taken without looking further.
    package var niceLength: Int
    /// Don't try a lazy match after a match at least this long.
    package var maxLazy: Int
    /// After a match this long, walk only a quarter of the chain for the next one.
    package var goodLength: Int

    package init(maxChain: Int = 128, niceLength: Int = 128, maxLazy: Int = 16, goodLength: Int = 8) {
        self.maxChain = maxChain
        self.niceLength = niceLength
        self.maxLazy = maxLazy
        self.goodLength = goodLength
    }

    /// zlib level 6's parameters.
    package static let `default` = DeflateOptions()

    /// Short chains and little laziness (about zlib's level 2): for previews such as overlays,
    /// where encoding time matters more than the last few percent of size.
    package static let fast = DeflateOptions(maxChain: 8, niceLength: 32, maxLazy: 4, goodLength: 4)
}

extension Zlib {
    /// A zlib stream (RFC 1950 header, deflate data, Adler-32) for `data`.
    package static func compress(_ data: [UInt8], options: DeflateOptions = .default) -> [UInt8] {
        var w = DeflateBitWriter()
        w.bytes.reserveCapacity(data.count / 2 + 64)
        // CMF 0x78: deflate, 32 KiB window; FLG 0x9C: "default" level, check bits make it a multiple of 31.
        w.write(0x78, 8)
        w.write(0x9C, 8)
        Deflate.compress(data, options: options, into: &w)
        w.alignToByte()
        let a = Checksum.adler32(data)
        for shift in [24, 16, 8, 0] { w.write(UInt32((a >> UInt32(shift)) & 0xFF), 8) }
        return w.bytes
    }
}

enum Deflate {
    static let windowSize = 32768
    static let minMatch = 3
    static let maxMatch = 258
    static let hashBits = 15
    /// Symbols per block: zlib's default buffer size, a fair balance between
    /// header overhead and adapting the code to local statistics.
    static let blockSymbols = 16383

    static func compress(_ data: [UInt8], options: DeflateOptions, into w: inout DeflateBitWriter) {
        let n = data.count
        if n == 0 {
            DeflateBlockWriter.writeFixedEmpty(&w)
            return
        }
        var head = [Int32](repeating: -1, count: 1 << hashBits)
        var prev = [Int32](repeating: -1, count: n)
        var block = DeflateBlockWriter()
        var blockStart = 0

        func hash(_ i: Int) -> Int {
            (Int(data[i]) << 10 ^ Int(data[i + 1]) << 5 ^ Int(data[i + 2])) & ((1 << hashBits) - 1)
        }
        func insert(_ i: Int) {
            guard i + 2 < n else { return }
            let h = hash(i)
            prev[i] = head[h]
            head[h] = Int32(i)
        }
        func longestMatch(_ i: Int, chain: Int, minLength: Int) -> (Int, Int) {
            let limit = min(maxMatch, n - i)
            guard limit >= minMatch, minLength <= limit else { return (0, 0) }
            var bestLen = minLength - 1, bestDist = 0
            var cand = Int(prev[i])
            var left = chain
            while cand >= 0 && i - cand <= windowSize && left > 0 {
                left -= 1
                // Cheap reject: the byte that would extend the best match must agree.
                if data[cand + bestLen] == data[i + bestLen] {
                    var l = 0
                    while l < limit && data[cand + l] == data[i + l] { l += 1 }
                    if l > bestLen {
                        bestLen = l
                        bestDist = i - cand
                        if l >= options.niceLength || l == limit { break }
                    }
                }
                cand = Int(prev[cand])
            }
            // A 3-byte match far away costs more bits than three literals (zlib's TOO_FAR rule).
            if bestLen == minMatch && bestDist > 4096 { return (0, 0) }
            return bestLen >= minMatch ? (bestLen, bestDist) : (0, 0)
        }
        func flushIfFull(_ end: Int, final: Bool) {
            if block.symbolCount >= blockSymbols || final {
                block.write(&w, raw: data[blockStart..<end], final: final)
                block = DeflateBlockWriter()
                blockStart = end
            }
        }

        var i = 0
        var prevLen = 0, prevDist = 0
        var matchAvailable = false
        while i < n || matchAvailable {
            var curLen = 0, curDist = 0
            if i < n {
                insert(i)
                if prevLen < options.maxLazy {
                    let chain = prevLen >= options.goodLength ? options.maxChain / 4 : options.maxChain
                    (curLen, curDist) = longestMatch(i, chain: chain, minLength: max(minMatch, prevLen + 1))
                }
            }
            if matchAvailable && prevLen >= minMatch && curLen <= prevLen {
                block.match(length: prevLen, distance: prevDist)
                let end = i - 1 + prevLen
                var j = i + 1
                while j < end { insert(j); j += 1 }
                i = end
                matchAvailable = false
                prevLen = 0
                flushIfFull(i, final: false)
            } else if matchAvailable {
                block.literal(data[i - 1])
                flushIfFull(i, final: false)
                prevLen = curLen
                prevDist = curDist
                if i < n { i += 1 } else { matchAvailable = false }
            } else {
                matchAvailable = true
                prevLen = curLen
                prevDist = curDist
                i += 1
            }
        }
        block.write(&w, raw: data[blockStart..<n], final: true)
    }
}
