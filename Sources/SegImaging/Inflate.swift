/// Deflate decompression (RFC 1951) and the zlib wrapper (RFC 1950).
package enum Zlib {
    /// Decompresses a zlib stream, verifying the header and the Adler-32 trailer.
    ///
    /// `maxOutput` bounds the output (a PNG knows its exact raw size): a stream
    /// that would produce more is rejected as corrupt instead of exhausting memory.
    /// `format`/`context`/`baseOffset` only label errors ("PNG IDAT at byte ...").
    package static func decompress(_ data: [UInt8], maxOutput: Int, format: String = "zlib",
                                  context: String? = nil, baseOffset: Int = 0) throws(ImagingError) -> [UInt8] {
        func fail(_ kind: ImagingError.Kind, _ off: Int, _ msg: String) -> ImagingError {
            ImagingError(kind, format: format, context: context, offset: baseOffset + off, msg)
        }
        guard data.count >= 2 else { throw fail(.truncated, data.count, "zlib header missing") }
        let cmf = Int(data[0]), flg = Int(data[1])
        guard cmf & 0x0F == 8, cmf >> 4 <= 7 else {
            throw fail(.corrupt, 0, "zlib header: compression method \(cmf & 15) / window \(cmf >> 4) is not deflate")
        }
        guard (cmf << 8 | flg) % 31 == 0 else { throw fail(.corrupt, 1, "zlib header check bits are wrong") }
        guard flg & 0x20 == 0 else { throw fail(.unsupported, 1, "zlib preset dictionary is not supported") }
        var out = [UInt8]()
        var end = 0
        do {
            end = try Inflate.run(data, start: 2, end: data.count, into: &out, maxOutput: maxOutput,
                                  format: format, baseOffset: baseOffset)
        } catch {
            var e = error
            e.context = e.context ?? context
            throw e
        }
        guard end + 4 <= data.count else { throw fail(.truncated, data.count, "Adler-32 trailer missing") }
        let stored = UInt32(data[end]) << 24 | UInt32(data[end + 1]) << 16 | UInt32(data[end + 2]) << 8 | UInt32(data[end + 3])
        let actual = Checksum.adler32(out)
        guard stored == actual else {
            throw fail(.checksum, end, "Adler-32 mismatch (stored \(hex(stored)), computed \(hex(actual)))")
        }
        return out
    }
}

func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}

enum Inflate {
    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                    35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                     3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
                                  257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                   7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    /// Order in which code-length code lengths are sent (RFC 1951 §3.2.7).
    static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    // Fixed codes (RFC 1951 §3.2.6); building them cannot fail, the `try?` fallback is unreachable.
    // The distance code has 32 entries so that it is complete; symbols 30 and 31 are rejected when decoded.
    static let fixedLitLen: InflateHuffman? = try? InflateHuffman(
        lengths: (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 }, format: "deflate", offset: 0)
    static let fixedDist: InflateHuffman? = try? InflateHuffman(
        lengths: [Int](repeating: 5, count: 32), format: "deflate", offset: 0)

    /// Inflates raw deflate data from `start`, appending to `out`; returns the
    /// byte index just past the final block.
    ///
    /// Internally `out` is kept longer than the bytes produced (`n` of them), zero-filled
    /// room that the block decoders write through a pointer; it is cut back to `n` on return
    /// (and on errors, when whatever was produced is discarded anyway).
    static func run(_ data: [UInt8], start: Int, end: Int, into out: inout [UInt8], maxOutput: Int,
                    format: String, baseOffset: Int) throws(ImagingError) -> Int {
        var r = InflateBitReader(data, start: start, end: end, format: format, baseOffset: baseOffset)
        var n = out.count
        defer { out.removeLast(out.count - n) }
        var final = false
        while !final {
            final = try r.bits(1) == 1
            let type = try r.bits(2)
            switch type {
            case 0:
                r.alignToByte()
                r.rewindBufferedBytes()
                let p = r.pos
                guard p + 4 <= r.end else { throw r.truncated() }
                let len = Int(data[p]) | Int(data[p + 1]) << 8
                let nlen = Int(data[p + 2]) | Int(data[p + 3]) << 8
                guard len == (~nlen & 0xFFFF) else {
                    throw ImagingError(.corrupt, format: format, offset: baseOffset + p, "stored block length check fails")
                }
                guard p + 4 + len <= r.end else { throw r.truncated() }
                guard n + len <= maxOutput else { throw tooMuch(format, baseOffset + p, maxOutput) }
                grow(&out, toAtLeast: n + len, maxOutput)
                out.replaceSubrange(n..<(n + len), with: data[(p + 4)..<(p + 4 + len)])
                n += len
                r = InflateBitReader(data, start: p + 4 + len, end: end, format: format, baseOffset: baseOffset)
            case 1:
                guard let lit = fixedLitLen, let dist = fixedDist else {
                    throw ImagingError(.corrupt, format: format, "fixed Huffman tables unavailable")
                }
                try codes(&r, lit, dist, &out, &n, maxOutput)
            case 2:
                let (lit, dist) = try dynamicTables(&r)
                try codes(&r, lit, dist, &out, &n, maxOutput)
            default:
                throw ImagingError(.corrupt, format: format, offset: r.offset, "invalid deflate block type 3")
            }
        }
        r.alignToByte()
        r.rewindBufferedBytes()
        return r.pos
    }

    static func tooMuch(_ format: String, _ offset: Int, _ maxOutput: Int) -> ImagingError {
        ImagingError(.corrupt, format: format, offset: offset, "decompressed data exceeds the expected \(maxOutput) bytes")
    }

    private static func dynamicTables(_ r: inout InflateBitReader) throws(ImagingError) -> (InflateHuffman, InflateHuffman) {
        let start = r.offset
        let nlen = try r.bits(5) + 257
        let ndist = try r.bits(5) + 1
        let ncode = try r.bits(4) + 4
        guard nlen <= 286, ndist <= 30 else {
            throw ImagingError(.corrupt, format: r.format, offset: start, "too many length or distance codes (\(nlen), \(ndist))")
        }
        var clLengths = [Int](repeating: 0, count: 19)
        for i in 0..<ncode { clLengths[codeLengthOrder[i]] = try r.bits(3) }
        let cl = try InflateHuffman(lengths: clLengths, format: r.format, offset: start)
        var lengths = [Int]()
        lengths.reserveCapacity(nlen + ndist)
        while lengths.count < nlen + ndist {
            let sym = try cl.decode(&r)
            var value = 0, repeatCount = 0
            switch sym {
            case 0...15:
                lengths.append(sym)
                continue
            case 16:
                guard let last = lengths.last else {
                    throw ImagingError(.corrupt, format: r.format, offset: r.offset, "repeat code with no previous length")
                }
                value = last
                repeatCount = 3 + (try r.bits(2))
            case 17: repeatCount = 3 + (try r.bits(3))
            default: repeatCount = 11 + (try r.bits(7))
            }
            guard lengths.count + repeatCount <= nlen + ndist else {
                throw ImagingError(.corrupt, format: r.format, offset: r.offset, "code length repeat runs past the end")
            }
            lengths.append(contentsOf: repeatElement(value, count: repeatCount))
        }
        guard lengths[256] != 0 else {
            throw ImagingError(.corrupt, format: r.format, offset: start, "no end-of-block code")
        }
        let lit = try InflateHuffman(lengths: Array(lengths[0..<nlen]), format: r.format, offset: start)
        let dist = try InflateHuffman(lengths: Array(lengths[nlen...]), format: r.format, offset: start)
        return (lit, dist)
    }

    /// Makes `out` (physically) at least `size` long, capped at `maxOutput`, doubling as it grows.
    static func grow(_ out: inout [UInt8], toAtLeast size: Int, _ maxOutput: Int) {
        guard out.count < size else { return }
        let target = min(maxOutput, max(size, 2 * out.count, 1 << 20))
        out.append(contentsOf: repeatElement(0, count: max(target, size) - out.count))
    }

    /// One Huffman-coded block, into `out[n...]`. Writes go through a pointer into room made
    /// beforehand: at least 258 bytes (the longest match) or everything up to `maxOutput`,
    /// checked before each symbol, so every write below stays inside `out`.
    private static func codes(_ r: inout InflateBitReader, _ lit: InflateHuffman, _ dist: InflateHuffman,
                              _ out: inout [UInt8], _ n: inout Int, _ maxOutput: Int) throws(ImagingError) {
        var done = false
        while !done {
            if out.count - n < 258 { grow(&out, toAtLeast: n + 258, maxOutput) }
            var produced = n
            defer { n = produced }
            try out.withUnsafeMutableBufferPointer { ob throws(ImagingError) in
                let o = ob.baseAddress!, room = ob.count
                // Until the room runs short (unless it already reaches maxOutput).
                while room - produced >= 258 || room >= maxOutput {
                    let sym = try lit.decode(&r)
                    if sym < 256 {
                        guard produced < maxOutput else { throw tooMuch(r.format, r.offset, maxOutput) }
                        o[produced] = UInt8(truncatingIfNeeded: sym)
                        produced += 1
                        continue
                    }
                    if sym == 256 {
                        done = true
                        return
                    }
                    let li = sym - 257
                    guard li < 29 else { throw ImagingError(.corrupt, format: r.format, offset: r.offset, "invalid length symbol \(sym)") }
                    let length = lengthBase[li] + (try r.bits(lengthExtra[li]))
                    let ds = try dist.decode(&r)
                    guard ds < 30 else { throw ImagingError(.corrupt, format: r.format, offset: r.offset, "invalid distance symbol \(ds)") }
                    let distance = distBase[ds] + (try r.bits(distExtra[ds]))
                    guard distance <= produced else {
                        throw ImagingError(.corrupt, format: r.format, offset: r.offset,
                                           "distance \(distance) reaches before the start of the output")
                    }
                    guard produced + length <= maxOutput else { throw tooMuch(r.format, r.offset, maxOutput) }
                    // length ≤ 258 ≤ room left, or the room reaches maxOutput: inside `out` either way.
                    // Byte by byte and forwards: an overlapping copy (distance < length) repeats
                    // the pattern, as the format requires.
                    let from = o + (produced - distance), to = o + produced
                    for i in 0..<length { to[i] = from[i] }
                    produced += length
                }
            }
        }
    }
}
