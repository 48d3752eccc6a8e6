import Foundation
import SegWeb
import Testing

/// SHA-1 against the test vectors of RFC 3174 §7.3 and FIPS 180-2, and the WebSocket accept
/// value against the worked example of RFC 6455 §1.3.
struct SHA1Tests {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02X", $0) }.joined() }

    @Test func rfc3174Vectors() {
        #expect(hex(SHA1.digest(Array("abc".utf8))) == "A9993E364706816ABA3E25717850C26C9CD0D89D")
        #expect(hex(SHA1.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "84983E441C3BD26EBAAE4AA1F95129E5E54670F1")
        #expect(hex(SHA1.digest(Array(String(repeating: "a", count: 1_000_000).utf8))) == "34AA973CD4C4DAA4F61EEB2BDBAD27316534016F")
        #expect(hex(SHA1.digest(Array(String(repeating: "01234567", count: 80).utf8))) == "DEA356A2CDDD90C7A7ECEDC5EBB563934F460452")
        #expect(hex(SHA1.digest([UInt8]())) == "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709")
    }

    /// Lengths around the padding boundary (55, 56, 63, 64 bytes) take one or two blocks.
    @Test func paddingBoundaries() {
        let expected = [
            55: "C1C8BBDC22796E28C0E15163D20899B65621D65A",
            56: "C2DB330F6083854C99D4B5BFB6E8F29F201BE699",
            63: "03F09F5B158A7A8CDAD920BDDC29B81C18A551F5",
            64: "0098BA824B5C16427BD7A1122A5A442A25EC644D",
        ]
        for (n, digest) in expected {
            #expect(hex(SHA1.digest([UInt8](repeating: UInt8(ascii: "a"), count: n))) == digest, "\(n) bytes")
        }
    }

    /// RFC 6455 §1.3 (and §4.2.2): the key "dGhlIHNhbXBsZSBub25jZQ==" is answered with
    /// "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" (Python's hashlib + base64 agree).
    @Test func webSocketAcceptExample() {
        #expect(WebSocketFrame.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}
