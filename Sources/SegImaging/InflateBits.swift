/// LSB-first bit reader for deflate streams (RFC 1951 §3.1.1).
///
/// Past the end of the input it supplies zero bits so that table lookups may
/// peek ahead, but *consuming* any of those bits is a truncation error.
struct InflateBitReader {
    let data: [UInt8]
    let end: Int
    private(set) var pos: Int
    private var buffer: UInt64 = 0
    private var count: Int = 0
    /// How many of the `count` buffered bits are zero padding beyond `end`.
    private var padding: Int = 0
    let format: String
    let baseOffset: Int

    init(_ data: [UInt8], start: Int, end: Int, format: String, baseOffset: Int) {
        self.data = data
        self.pos = start
        self.end = min(end, data.count)
        self.format = format
        self.baseOffset = baseOffset
    }

    /// Byte offset (in the caller's coordinates) of the next unread bit.
    var offset: Int { baseOffset + pos - (count - padding + 7) / 8 }

    @inline(__always)
    mutating func refill() {
        while count <= 56 {
            if pos < end {
                buffer |= UInt64(data[pos]) << UInt64(count)
                pos += 1
            } else {
                padding += 8
            }
            count += 8
        }
    }

    /// The next `n` (≤ 32) bits without consuming them.
    @inline(__always)
    mutating func peek(_ n: Int) -> UInt32 {
        if count < n { refill() }
        return UInt32(truncatingIfNeeded: buffer & ((1 << UInt64(n)) - 1))
    }

    @inline(__always)
    mutating func consume(_ n: Int) throws(ImagingError) {
        buffer >>= UInt64(n)
        count -= n
        if count < padding { throw truncated() }
    }

    @inline(__always)
    mutating func bits(_ n: Int) throws(ImagingError) -> Int {
        if n == 0 { return 0 }
        let v = peek(n)
        try consume(n)
        return Int(v)
    }

    /// Drops bits up to the next byte boundary (stored blocks, end of stream).
    mutating func alignToByte() {
        let drop = count % 8
        buffer >>= UInt64(drop)
        count -= drop
    }

    /// After `alignToByte`, hands back the buffered whole bytes so that the
    /// caller can read raw bytes at `pos`.
    mutating func rewindBufferedBytes() {
        let realBits = count - padding
        pos -= realBits / 8
        buffer = 0
        count = 0
        padding = 0
    }

    func truncated() -> ImagingError {
        ImagingError(.truncated, format: format, offset: offset, "compressed data ends early")
    }
}
