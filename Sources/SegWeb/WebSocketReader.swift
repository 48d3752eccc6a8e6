/// Turns the bytes of a WebSocket connection into messages (RFC 6455 §5-§7).
///
/// A small state machine like `MessageFramer`: it keeps only the frame it is reading, so frames
/// split across reads and several frames in one read both work. Fragmented messages are
/// reassembled, with control frames (ping, pong, close) allowed between their fragments. A
/// message over `maxMessageBytes` is refused from its header, before its payload is buffered.
/// Anything the RFC says to fail the connection on ends the reader with `.failure`: the caller
/// sends a close frame with that code and drops the connection; later bytes are ignored.
package struct WebSocketReader: Sendable {
    package enum Event: Sendable, Equatable {
        case text([UInt8])
        case binary([UInt8])
        case ping([UInt8])
        case pong([UInt8])
        /// The peer's close frame: its code (nil when it sent none) and reason.
        case close(code: UInt16?, reason: String)
        /// The peer broke the protocol: close with `code`.
        case failure(WebSocketCloseCode, String)
    }

    struct Header {
        var fin: Bool
        var opcode: WebSocketOpcode
        var mask: [UInt8]?
        var length: Int
    }

    package let maxMessageBytes: Int
    /// Frames from a client must be masked, frames from a server must not (RFC 6455 §5.1).
    package let expectMasked: Bool
    var buffer: [UInt8] = []
    var start = 0
    var header: Header? = nil
    /// The data message being reassembled from fragments.
    var message: (opcode: WebSocketOpcode, payload: [UInt8])? = nil
    package private(set) var isFinished = false

    package init(maxMessageBytes: Int, expectMasked: Bool = true) {
        self.maxMessageBytes = maxMessageBytes
        self.expectMasked = expectMasked
    }

    var available: Int { buffer.count - start }

    /// Feeds bytes read from the connection; returns the events they complete, in order.
    package mutating func feed(_ bytes: some Collection<UInt8>) -> [Event] {
        guard !isFinished else { return [] }
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        while let event = step() {
            events.append(event)
            if case .failure = event { isFinished = true }
            if case .close = event { isFinished = true }
            if isFinished { break }
        }
        if isFinished {
            buffer = []
            start = 0
        } else if start > 0 && (start >= 4096 || start == buffer.count) {
            buffer.removeFirst(start)
            start = 0
        }
        return events
    }

    /// Reads one header or one payload when enough bytes are there.
    mutating func step() -> Event? {
        while true {
            guard let h = header else {
                switch parseHeader() {
                case .needMore: return nil
                case .failure(let code, let why): return .failure(code, why)
                case .header(let h):
                    header = h
                    continue
                }
            }
            guard available >= h.length else { return nil }
            var payload = Array(buffer[start..<start + h.length])
            start += h.length
            header = nil
            if let mask = h.mask {
                for i in payload.indices { payload[i] ^= mask[i & 3] }
            }
            if let event = complete(h, payload) { return event }
        }
    }

    enum HeaderResult {
        case needMore
        case header(Header)
        case failure(WebSocketCloseCode, String)
    }

    mutating func parseHeader() -> HeaderResult {
        guard available >= 2 else { return .needMore }
        let b0 = buffer[start], b1 = buffer[start + 1]
        let masked = b1 & 0x80 != 0
        let short = Int(b1 & 0x7F)
        let extra = (short == 126 ? 2 : short == 127 ? 8 : 0) + (masked ? 4 : 0)
        guard available >= 2 + extra else { return .needMore }
        guard b0 & 0x70 == 0 else { return .failure(.protocolError, "reserved bits set (no extension was negotiated)") }
        guard let opcode = WebSocketOpcode(rawValue: b0 & 0x0F) else {
            return .failure(.protocolError, "unknown opcode \(b0 & 0x0F)")
        }
        guard masked == expectMasked else {
            return .failure(.protocolError, expectMasked ? "client frames must be masked" : "server frames must not be masked")
        }
        var i = start + 2
        var length: UInt64 = UInt64(short)
        if short == 126 {
            length = UInt64(buffer[i]) << 8 | UInt64(buffer[i + 1])
            i += 2
        } else if short == 127 {
            length = 0
            for k in 0..<8 { length = length << 8 | UInt64(buffer[i + k]) }
            i += 8
            guard length >> 63 == 0 else { return .failure(.protocolError, "frame length has its most significant bit set") }
        }
        let fin = b0 & 0x80 != 0
        if opcode.isControl {
            guard fin else { return .failure(.protocolError, "fragmented control frame") }
            guard length <= UInt64(WebSocketFrame.maxControlPayload) else {
                return .failure(.protocolError, "control frame of \(length) bytes (at most 125)")
            }
        } else {
            switch (opcode, message) {
            case (.continuation, nil): return .failure(.protocolError, "continuation frame without a message to continue")
            case (.text, .some), (.binary, .some): return .failure(.protocolError, "new data frame inside a fragmented message")
            default: break
            }
            let sofar = UInt64(message?.payload.count ?? 0)
            // Both terms are below 2^63, so the sum cannot overflow.
            guard sofar + length <= UInt64(maxMessageBytes) else {
                return .failure(.messageTooBig, "message larger than \(maxMessageBytes) bytes")
            }
        }
        let mask = masked ? Array(buffer[i..<i + 4]) : nil
        start = i + (masked ? 4 : 0)
        return .header(Header(fin: fin, opcode: opcode, mask: mask, length: Int(length)))
    }

    /// A whole frame has arrived: a control event, or a data message once its last fragment is in.
    mutating func complete(_ h: Header, _ payload: [UInt8]) -> Event? {
        switch h.opcode {
        case .ping: return .ping(payload)
        case .pong: return .pong(payload)
        case .close: return Self.closeEvent(payload)
        case .text, .binary:
            message = (h.opcode, payload)
        case .continuation:
            message?.payload.append(contentsOf: payload)
        }
        guard h.fin, let done = message else { return nil }
        message = nil
        if done.opcode == .binary { return .binary(done.payload) }
        guard String(validating: done.payload, as: UTF8.self) != nil else {
            return .failure(.invalidPayload, "text message is not valid UTF-8")
        }
        return .text(done.payload)
    }

    static func closeEvent(_ payload: [UInt8]) -> Event {
        if payload.isEmpty { return .close(code: nil, reason: "") }
        guard payload.count >= 2 else { return .failure(.protocolError, "close frame with a 1-byte payload") }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        guard WebSocketCloseCode.isValidOnTheWire(code) else { return .failure(.protocolError, "close code \(code) is not allowed on the wire") }
        guard let reason = String(validating: payload[2...], as: UTF8.self) else {
            return .failure(.invalidPayload, "close reason is not valid UTF-8")
        }
        return .close(code: code, reason: reason)
    }
}
