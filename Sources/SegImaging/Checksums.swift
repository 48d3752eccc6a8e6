/// CRC-32 (ISO-HDLC / PNG / zip: reflected polynomial 0xEDB88320, init and
/// final xor 0xFFFFFFFF) and Adler-32 (RFC 1950).
package enum Checksum {
    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Slicing-by-8 tables: `crcTables[k][b]` is the CRC of byte b followed by k zero bytes, so
    /// eight bytes advance the CRC with eight independent lookups instead of a chain of eight.
    private static let crcTables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for b in 0..<256 { t[b] = crcTable[b] }
        for k in 1..<8 {
            for b in 0..<256 {
                let prev = t[(k - 1) * 256 + b]
                t[k * 256 + b] = crcTable[Int(prev & 0xFF)] ^ (prev >> 8)
            }
        }
        return t
    }()

    /// Continues a CRC: pass the previous result as `crc` (0 to start).
    package static func crc32<C: Collection>(_ bytes: C, crc: UInt32 = 0) -> UInt32 where C.Element == UInt8 {
        if let r = bytes.withContiguousStorageIfAvailable({ crc32(contiguous: $0, crc: crc) }) { return r }
        var c = ~crc
        crcTable.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }

    static func crc32(contiguous bytes: UnsafeBufferPointer<UInt8>, crc: UInt32) -> UInt32 {
        var c = ~crc
        guard var p = bytes.baseAddress else { return crc }
        var left = bytes.count
        crcTables.withUnsafeBufferPointer { t in
            while left >= 8 {
                let lo = c ^ (UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24)
                let hi = UInt32(p[4]) | UInt32(p[5]) << 8 | UInt32(p[6]) << 16 | UInt32(p[7]) << 24
                c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                p += 8
                left -= 8
            }
            while left > 0 {
                c = t[Int((c ^ UInt32(p[0])) & 0xFF)] ^ (c >> 8)
                p += 1
                left -= 1
            }
        }
        return ~c
    }

    /// Continues an Adler-32: pass the previous result as `adler` (1 to start).
    package static func adler32<C: Collection>(_ bytes: C, adler: UInt32 = 1) -> UInt32 where C.Element == UInt8 {
        if let r = bytes.withContiguousStorageIfAvailable({ adler32(contiguous: $0, adler: adler) }) { return r }
        var a = adler & 0xFFFF
        var b = adler >> 16
        var pending = 0
        for byte in bytes {
            a &+= UInt32(byte)
            b &+= a
            pending += 1
            // 5552 is the largest n for which b cannot overflow 32 bits before the modulo (RFC 1950 / zlib's NMAX).
            if pending == 5552 {
                a %= 65521
                b %= 65521
                pending = 0
            }
        }
        return ((b % 65521) << 16) | (a % 65521)
    }

    /// The same over contiguous bytes, a block of at most 5552 at a time in closed form
    /// (a += Σx, b += n·a + Σ(n−i)·x_i), which the compiler vectorizes; the NMAX bound keeps
    /// every sum below 2^32, so the result is the byte-by-byte one exactly.
    static func adler32(contiguous bytes: UnsafeBufferPointer<UInt8>, adler: UInt32) -> UInt32 {
        var a = adler & 0xFFFF
        var b = adler >> 16
        guard var p = bytes.baseAddress else { return ((b % 65521) << 16) | (a % 65521) }
        var left = bytes.count
        while left > 0 {
            let n = min(left, 5552)
            var sum: UInt32 = 0, weighted: UInt32 = 0
            for i in 0..<n {
                let v = UInt32(p[i])
                sum &+= v
                weighted &+= UInt32(truncatingIfNeeded: n &- i) &* v
            }
            b = (b &+ UInt32(truncatingIfNeeded: n) &* a &+ weighted) % 65521
            a = (a &+ sum) % 65521
            p += n
            left -= n
        }
        return (b << 16) | a
    }
}
