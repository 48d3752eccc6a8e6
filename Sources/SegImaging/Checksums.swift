/// CRC-32 (ISO-HDLC / PNG / zip: reflected polynomial 0xEDB88320, init and
/// final xor 0xFFFFFFFF) and Adler-32 (RFC 1950).
public enum Checksum {
    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Continues a CRC: pass the previous result as `crc` (0 to start).
    public static func crc32<C: Collection>(_ bytes: C, crc: UInt32 = 0) -> UInt32 where C.Element == UInt8 {
        var c = ~crc
        crcTable.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }

    /// Continues an Adler-32: pass the previous result as `adler` (1 to start).
    public static func adler32<C: Collection>(_ bytes: C, adler: UInt32 = 1) -> UInt32 where C.Element == UInt8 {
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
}
