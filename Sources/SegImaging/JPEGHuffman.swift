/// JPEG entropy-coded segment reading (ITU T.81 §F.2.2): an MSB-first bit
/// reader that removes 0xFF00 stuffing and stops at markers, and canonical
/// Huffman tables with a 10-bit lookahead.
///
/// The reader works on a buffer pointer, so it only lives inside the
/// `withUnsafeBufferPointer` of the file's bytes (see `decodeScan`); every byte
/// access is checked against the buffer's count, whatever the file says.
struct JPEGBitReader {
    let data: UnsafeBufferPointer<UInt8>
    private(set) var pos: Int
    /// The low `count` bits are unread, most significant first; bits above are stale.
    /// (Settable so that hot loops can keep them in registers and write them back.)
    var buffer: UInt64 = 0
    var count = 0
    /// Zero bits appended after a marker or the end of data; consuming them is an error.
    private(set) var padding = 0
    private var atMarker = false

    init(_ data: UnsafeBufferPointer<UInt8>, start: Int) {
        self.data = data
        self.pos = start
    }

    var offset: Int { pos }

    /// Tops the buffer up to at least 57 bits (zero padding past a marker or the end).
    @inline(__always)
    mutating func refill() {
        // Fast path: 8 bytes without a 0xFF among them go in with one load.
        if !atMarker && pos + 8 <= data.count, let base = data.baseAddress {
            let word = UInt64(bigEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
            let inv = ~word
            if (inv &- 0x0101_0101_0101_0101) & ~inv & 0x8080_8080_8080_8080 == 0 {
                let n = (64 - count) >> 3
                buffer = (buffer << UInt64(8 * n)) | (word >> UInt64(64 - 8 * n))
                count += 8 * n
                pos += n
                return
            }
        }
        refillSlow()
    }

    private mutating func refillSlow() {
        while count <= 56 {
            var byte: UInt8 = 0
            if !atMarker && pos < data.count {
                byte = data[pos]
                if byte == 0xFF {
                    let next = pos + 1 < data.count ? data[pos + 1] : 0xD9
                    if next == 0x00 {
                        pos += 2
                    } else {
                        atMarker = true
                        byte = 0
                        padding += 8
                    }
                } else {
                    pos += 1
                }
            } else {
                atMarker = true
                padding += 8
            }
            buffer = buffer << 8 | UInt64(byte)
            count += 8
        }
    }

    /// The next `n` (≤ 32) bits without consuming them; needs `count >= n` (call `ensure` first).
    @inline(__always)
    func peek(_ n: Int) -> Int {
        Int(truncatingIfNeeded: (buffer >> UInt64(count - n)) & ((1 << UInt64(n)) - 1))
    }

    /// Makes at least 32 bits available.
    @inline(__always)
    mutating func ensure32() {
        if count < 32 { refill() }
    }

    @inline(__always)
    mutating func peek16() -> Int {
        if count < 16 { refill() }
        return peek(16)
    }

    /// Drops `n` bits without the truncation check; `check()` must follow before they are used.
    @inline(__always)
    mutating func skip(_ n: Int) {
        count -= n
    }

    /// Throws if bits beyond the data (the zero padding) have been consumed.
    @inline(__always)
    func check() throws(ImagingError) {
        if count < padding { throw truncated() }
    }

    func truncated() -> ImagingError {
        ImagingError(.truncated, format: "JPEG", context: "scan data", offset: pos,
                     "entropy-coded data ends early (truncated or corrupt)")
    }

    @inline(__always)
    mutating func consume(_ n: Int) throws(ImagingError) {
        count -= n
        try check()
    }

    @inline(__always)
    mutating func bits(_ n: Int) throws(ImagingError) -> Int {
        if n == 0 { return 0 }
        if count < n { refill() }
        let v = peek(n)
        try consume(n)
        return v
    }

    /// `n` bits as a signed coefficient (T.81 F.2.2.1 EXTEND).
    @inline(__always)
    mutating func receiveExtend(_ n: Int) throws(ImagingError) -> Int {
        if n == 0 { return 0 }
        return JPEGBitReader.extend(try bits(n), n)
    }

    /// EXTEND without branches: `v` has `n` ≥ 1 bits; a clear top bit means negative.
    @inline(__always)
    static func extend(_ v: Int, _ n: Int) -> Int {
        v &+ ((((v &>> (n &- 1)) & 1) &- 1) & (1 &- (1 &<< n)))
    }

    /// Skips to the next marker (past fill bytes and any unread data) and returns
    /// its code and offset, leaving `pos` just after it.
    mutating func nextMarker() -> (code: UInt8, offset: Int)? {
        buffer = 0
        count = 0
        padding = 0
        atMarker = false
        while pos + 1 < data.count {
            if data[pos] == 0xFF && data[pos + 1] != 0x00 && data[pos + 1] != 0xFF {
                let code = data[pos + 1]
                pos += 2
                return (code, pos - 2)
            }
            pos += 1
        }
        return nil
    }

    /// Position just after the entropy-coded data, for the marker parser to resume.
    mutating func endOfScan() -> Int {
        buffer = 0
        count = 0
        padding = 0
        atMarker = false
        var p = pos
        while p + 1 < data.count {
            if data[p] == 0xFF && data[p + 1] != 0x00 && data[p + 1] != 0xFF && !(0xD0...0xD7).contains(data[p + 1]) {
                return p
            }
            p += 1
        }
        return data.count
    }
}

/// A canonical Huffman table in one fixed-size allocation, so that the decoding
/// loops read it through a pointer (no array copies, retains or bounds checks per
/// symbol). All indices into it are masked or bounded by construction.
final class JPEGHuffmanTable {
    /// Lookahead: codes (and, in `fastAC`, code plus extra bits) of up to this many bits
    /// decode with one lookup.
    static let lookBits = 10
    // Layout (Int32 entries):
    /// [lookupAt + peek]: `length << 8 | symbol` for codes of ≤ lookBits bits; 0 = longer code.
    static let lookupAt = 0
    /// [fastACAt + peek]: for AC symbols with size ≥ 1 whose code and extra bits fit in lookBits,
    /// `value << 16 | run << 8 | (code length + size)`; 0 = not available.
    static let fastACAt = 1 << lookBits
    /// Per length 0...17: largest code of that length (-1 if none), then the index offset into values.
    static let maxCodeAt = 2 << lookBits
    static let valOffsetAt = maxCodeAt + 18
    static let valuesAt = valOffsetAt + 18
    /// [countAt]: number of values.
    static let countAt = valuesAt + 256
    static let size = countAt + 1

    let t: UnsafeMutablePointer<Int32>
    let valueCount: Int

    init(counts: [Int], values: [UInt8], offset: Int) throws(ImagingError) {
        precondition(counts.count == 16 && values.count <= 256)
        t = .allocate(capacity: Self.size)
        t.initialize(repeating: 0, count: Self.size)
        valueCount = values.count
        t[Self.countAt] = Int32(values.count)
        for (i, v) in values.enumerated() { t[Self.valuesAt + i] = Int32(v) }
        for len in 0..<18 { t[Self.maxCodeAt + len] = -1 }
        var code = 0
        var k = 0
        for len in 1...16 {
            let n = counts[len - 1]
            t[Self.valOffsetAt + len] = Int32(truncatingIfNeeded: k - code)
            if n > 0 {
                for _ in 0..<n {
                    guard code < (1 << len), k < values.count else {
                        throw ImagingError(.corrupt, format: "JPEG", context: "DHT", offset: offset, "Huffman code lengths overflow")
                    }
                    if len <= Self.lookBits {
                        let shift = Self.lookBits - len
                        let symbol = Int(values[k])
                        for fill in 0..<(1 << shift) {
                            let index = (code << shift) | fill
                            t[Self.lookupAt + index] = Int32(len << 8 | symbol)
                            let run = symbol >> 4, size = symbol & 15
                            if size != 0 && len + size <= Self.lookBits {
                                let raw = (index >> (Self.lookBits - len - size)) & ((1 << size) - 1)
                                let value = JPEGBitReader.extend(raw, size)
                                t[Self.fastACAt + index] = Int32(value << 16 | run << 8 | (len + size))
                            }
                        }
                    }
                    code += 1
                    k += 1
                }
                t[Self.maxCodeAt + len] = Int32(code - 1)
                // All-ones codes are reserved (T.81 C.2), as libjpeg enforces.
                guard code < (1 << len) else {
                    throw ImagingError(.corrupt, format: "JPEG", context: "DHT", offset: offset, "Huffman table uses an all-ones code")
                }
            }
            code <<= 1
        }
        t[Self.maxCodeAt + 17] = Int32.max
    }

    deinit { t.deallocate() }

    @inline(__always)
    func decode(_ r: inout JPEGBitReader) throws(ImagingError) -> Int {
        let peek = r.peek16()
        let entry = Int(t[Self.lookupAt + (peek >> (16 - Self.lookBits))])
        if entry != 0 {
            try r.consume(entry >> 8)
            return entry & 0xFF
        }
        return try decodeLong(&r, peek)
    }

    /// Codes longer than the lookahead: the canonical walk over lengths 10...16.
    func decodeLong(_ r: inout JPEGBitReader, _ peek: Int) throws(ImagingError) -> Int {
        try Self.decodeLong(UnsafePointer(t), &r, peek)
    }

    /// `decodeLong` on a table's memory; `peek` holds the next 16 bits, which `r` has.
    static func decodeLong(_ t: UnsafePointer<Int32>, _ r: inout JPEGBitReader, _ peek: Int) throws(ImagingError) -> Int {
        for len in (lookBits + 1)...16 {
            let code = peek >> (16 - len)
            if code <= Int(t[maxCodeAt + len]) {
                try r.consume(len)
                let idx = Int(t[valOffsetAt + len]) + code
                guard idx >= 0 && idx < Int(t[countAt]) else { break }
                return Int(t[valuesAt + idx])
            }
        }
        throw ImagingError(.corrupt, format: "JPEG", context: "scan data", offset: r.offset, "invalid Huffman code")
    }
}
