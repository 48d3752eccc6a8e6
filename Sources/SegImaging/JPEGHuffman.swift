/// JPEG entropy-coded segment reading (ITU T.81 §F.2.2): an MSB-first bit
/// reader that removes 0xFF00 stuffing and stops at markers, and canonical
/// Huffman tables with a 9-bit lookahead.
struct JPEGBitReader {
    let data: [UInt8]
    private(set) var pos: Int
    private var buffer: UInt64 = 0
    private var count = 0
    /// Zero bits appended after a marker or the end of data; consuming them is an error.
    private var padding = 0
    private var atMarker = false

    init(_ data: [UInt8], start: Int) {
        self.data = data
        self.pos = start
    }

    var offset: Int { pos }

    @inline(__always)
    private mutating func refill() {
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

    @inline(__always)
    mutating func peek16() -> Int {
        if count < 16 { refill() }
        return Int(truncatingIfNeeded: (buffer >> UInt64(count - 16)) & 0xFFFF)
    }

    @inline(__always)
    mutating func consume(_ n: Int) throws(ImagingError) {
        count -= n
        if count < padding {
            throw ImagingError(.truncated, format: "JPEG", context: "scan data", offset: pos,
                               "entropy-coded data ends early (truncated or corrupt)")
        }
    }

    @inline(__always)
    mutating func bits(_ n: Int) throws(ImagingError) -> Int {
        if n == 0 { return 0 }
        if count < n { refill() }
        let v = Int(truncatingIfNeeded: (buffer >> UInt64(count - n)) & ((1 << UInt64(n)) - 1))
        try consume(n)
        return v
    }

    /// `n` bits as a signed coefficient (T.81 F.2.2.1 EXTEND).
    @inline(__always)
    mutating func receiveExtend(_ n: Int) throws(ImagingError) -> Int {
        if n == 0 { return 0 }
        let v = try bits(n)
        return v < (1 << (n - 1)) ? v - (1 << n) + 1 : v
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

struct JPEGHuffmanTable {
    /// `length << 8 | symbol` for codes of ≤ 9 bits, indexed by the next 9 bits; 0 = longer code.
    private var lookup: [UInt16]
    /// Per length 1...16: largest code of that length (-1 if none), and index offset into `values`.
    private var maxCode: [Int]
    private var valOffset: [Int]
    private var values: [UInt8]
    static let lookBits = 9

    init(counts: [Int], values: [UInt8], offset: Int) throws(ImagingError) {
        var maxCode = [Int](repeating: -1, count: 18)
        var valOffset = [Int](repeating: 0, count: 18)
        var lookup = [UInt16](repeating: 0, count: 1 << Self.lookBits)
        var code = 0
        var k = 0
        for len in 1...16 {
            let n = counts[len - 1]
            valOffset[len] = k - code
            if n > 0 {
                for _ in 0..<n {
                    guard code < (1 << len) else {
                        throw ImagingError(.corrupt, format: "JPEG", context: "DHT", offset: offset, "Huffman code lengths overflow")
                    }
                    if len <= Self.lookBits {
                        let shift = Self.lookBits - len
                        for fill in 0..<(1 << shift) {
                            lookup[(code << shift) | fill] = UInt16(len << 8) | UInt16(values[k])
                        }
                    }
                    code += 1
                    k += 1
                }
                maxCode[len] = code - 1
                // All-ones codes are reserved (T.81 C.2), as libjpeg enforces.
                guard code < (1 << len) else {
                    throw ImagingError(.corrupt, format: "JPEG", context: "DHT", offset: offset, "Huffman table uses an all-ones code")
                }
            }
            code <<= 1
        }
        maxCode[17] = Int.max
        self.lookup = lookup
        self.maxCode = maxCode
        self.valOffset = valOffset
        self.values = values
    }

    @inline(__always)
    func decode(_ r: inout JPEGBitReader) throws(ImagingError) -> Int {
        let peek = r.peek16()
        let entry = lookup[peek >> (16 - Self.lookBits)]
        if entry != 0 {
            try r.consume(Int(entry >> 8))
            return Int(entry & 0xFF)
        }
        for len in (Self.lookBits + 1)...16 {
            let code = peek >> (16 - len)
            if code <= maxCode[len] {
                try r.consume(len)
                let idx = valOffset[len] + code
                guard idx >= 0 && idx < values.count else { break }
                return Int(values[idx])
            }
        }
        throw ImagingError(.corrupt, format: "JPEG", context: "scan data", offset: r.offset, "invalid Huffman code")
    }
}
