import Foundation

/// RFC 6455 §5 framing: opcodes, close codes, and encoding one frame.
///
/// ```
///  byte 0: FIN(1) RSV1-3(3) opcode(4)      byte 1: MASK(1) length(7)
///  length 126: 16-bit length follows; 127: 64-bit length follows (network order)
///  then the 4-byte masking key when MASK is set (client to server: always), then the payload
/// ```
package enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA

    /// Control frames (close, ping, pong) may come between the fragments of a message.
    package var isControl: Bool { rawValue & 0x8 != 0 }
}

/// Status codes of a close frame (RFC 6455 §7.4.1).
package enum WebSocketCloseCode: UInt16, Sendable {
    case normal = 1000
    case goingAway = 1001
    case protocolError = 1002
    case unsupportedData = 1003
    case invalidPayload = 1007
    case policyViolation = 1008
    case messageTooBig = 1009
    case internalError = 1011

    /// Whether a peer may send `code` in a close frame: the registered codes that are not
    /// reserved for local use (1004-1006, 1015), and the application range 3000-4999.
    package static func isValidOnTheWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: return true
        default: return false
        }
    }
}

package enum WebSocketFrame {
    /// The largest payload of a control frame (RFC 6455 §5.5).
    package static let maxControlPayload = 125

    /// One frame. Servers send unmasked frames; a client passes its 4-byte `mask`.
    package static func encode(_ opcode: WebSocketOpcode, _ payload: some Collection<UInt8>, fin: Bool = true,
                               mask: [UInt8]? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 14)
        out.append((fin ? 0x80 : 0) | opcode.rawValue)
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        let n = payload.count
        if n < 126 {
            out.append(maskBit | UInt8(n))
        } else if n <= 0xFFFF {
            out.append(maskBit | 126)
            out.append(UInt8(n >> 8))
            out.append(UInt8(n & 0xFF))
        } else {
            out.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: UInt64(n) >> UInt64(shift))) }
        }
        if let mask {
            out.append(contentsOf: mask)
            var i = 0
            for byte in payload {
                out.append(byte ^ mask[i & 3])
                i += 1
            }
        } else {
            out.append(contentsOf: payload)
        }
        return out
    }

    /// A close frame's payload: the code big-endian, then a UTF-8 reason (cut to fit 125 bytes).
    package static func closePayload(_ code: UInt16, reason: String = "") -> [UInt8] {
        var reasonBytes = Array(reason.utf8.prefix(maxControlPayload - 2))
        // Cutting may split a character; drop the partial one so the reason stays valid UTF-8.
        while !reasonBytes.isEmpty, String(validating: reasonBytes, as: UTF8.self) == nil { reasonBytes.removeLast() }
        return [UInt8(code >> 8), UInt8(code & 0xFF)] + reasonBytes
    }

    /// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key` (RFC 6455 §4.2.2):
    /// base64 of the SHA-1 of the key followed by the protocol's GUID.
    package static func acceptValue(forKey key: String) -> String {
        let digest = SHA1.digest(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }
}
