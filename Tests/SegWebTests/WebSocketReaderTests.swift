import SegWeb
import Testing

/// Frame decoding and message assembly, fed the way a socket delivers bytes: whole, split,
/// byte by byte. The expected bytes are written out from RFC 6455 §5.2 and §5.7, not produced
/// by the encoder under test, except where the test is a round trip.
struct WebSocketReaderTests {
    let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

    func masked(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        WebSocketFrame.encode(opcode, payload, fin: fin, mask: mask)
    }

    func reader(max: Int = 1 << 20) -> WebSocketReader { WebSocketReader(maxMessageBytes: max) }

    func code(_ events: [WebSocketReader.Event]) -> WebSocketCloseCode? {
        if case .failure(let c, _)? = events.last { return c }
        return nil
    }

    /// RFC 6455 §5.7: a single-frame masked text message "Hello".
    @Test func rfcMaskedHello() {
        var r = reader()
        let bytes: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        #expect(r.feed(bytes) == [.text(Array("Hello".utf8))])
        #expect(masked(.text, Array("Hello".utf8)) == bytes)
    }

    /// RFC 6455 §5.7: unmasked frames as a server sends them, and their length encodings.
    @Test func serverFramesAreUnmaskedWithMinimalLengths() {
        #expect(WebSocketFrame.encode(.text, Array("Hello".utf8)) == [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        #expect(Array(WebSocketFrame.encode(.binary, [UInt8](repeating: 0, count: 256)).prefix(4)) == [0x82, 0x7E, 0x01, 0x00])
        #expect(Array(WebSocketFrame.encode(.binary, [UInt8](repeating: 0, count: 65536)).prefix(10))
                == [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
        #expect(WebSocketFrame.encode(.pong, [UInt8]()) == [0x8A, 0x00])
        #expect(WebSocketFrame.encode(.close, WebSocketFrame.closePayload(1000)) == [0x88, 0x02, 0x03, 0xE8])
    }

    @Test func everyLengthEncodingRoundTrips() {
        for n in [0, 1, 125, 126, 127, 65535, 65536, 70_000] {
            let payload = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) & 0x7F }
            var r = reader()
            #expect(r.feed(masked(.text, payload)) == [.text(payload)], "\(n) bytes")
        }
    }

    @Test func byteByByteFeedingGivesTheSameMessages() {
        let stream = masked(.text, Array("one".utf8)) + masked(.ping, [1, 2]) + masked(.text, [UInt8](repeating: 0x61, count: 300))
        var r = reader()
        var events: [WebSocketReader.Event] = []
        for b in stream { events += r.feed([b]) }
        #expect(events == [.text(Array("one".utf8)), .ping([1, 2]), .text([UInt8](repeating: 0x61, count: 300))])
    }

    @Test func fragmentedMessageWithControlFramesBetweenFragments() {
        let stream = masked(.text, Array("Hel".utf8), fin: false) + masked(.ping, Array("p".utf8))
            + masked(.continuation, Array("lo, ".utf8), fin: false) + masked(.pong, [])
            + masked(.continuation, Array("world".utf8))
        var r = reader()
        #expect(r.feed(stream) == [.ping(Array("p".utf8)), .pong([]), .text(Array("Hello, world".utf8))])
    }

    @Test func protocolErrorsFailWith1002() {
        let cases: [(String, [UInt8])] = [
            ("continuation without a message", masked(.continuation, [1])),
            ("text inside a fragmented message", masked(.text, [0x61], fin: false) + masked(.text, [0x62])),
            ("fragmented ping", masked(.ping, [1], fin: false)),
            ("control frame over 125 bytes", masked(.ping, [UInt8](repeating: 0, count: 126))),
            ("reserved bits", [0xC1, 0x80] + mask),
            ("opcode 3", [0x83, 0x80] + mask),
            ("opcode 0xB", [0x8B, 0x80] + mask),
            ("unmasked client frame", WebSocketFrame.encode(.text, Array("hi".utf8))),
            ("64-bit length with its top bit set", [0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1] + mask),
            ("1-byte close payload", masked(.close, [0x03])),
            ("close code 1005 (reserved)", masked(.close, [0x03, 0xED])),
            ("close code 999", masked(.close, [0x03, 0xE7])),
        ]
        for (name, bytes) in cases {
            var r = reader()
            #expect(code(r.feed(bytes)) == .protocolError, "\(name)")
            #expect(r.isFinished, "\(name)")
        }
    }

    @Test func invalidUTF8FailsWith1007() {
        var r = reader()
        #expect(code(r.feed(masked(.text, [0x61, 0xC3, 0x28]))) == .invalidPayload)
        var split = reader()
        // A character split across fragments is fine; only the whole message must be UTF-8.
        #expect(split.feed(masked(.text, [0xC3], fin: false) + masked(.continuation, [0xA9])) == [.text([0xC3, 0xA9])])
    }

    /// A frame over the limit is refused from its header alone: nothing of its payload is sent.
    @Test func oversizedMessagesFailWith1009BeforeThePayloadArrives() {
        var r = reader(max: 1000)
        let header: [UInt8] = [0x81, 0xFE, 0x03, 0xE9] + mask      // 1001 bytes announced
        #expect(code(r.feed(header)) == .messageTooBig)
        var fragmented = reader(max: 1000)
        #expect(fragmented.feed(masked(.text, [UInt8](repeating: 0x61, count: 600), fin: false)) == [])
        #expect(code(fragmented.feed(masked(.continuation, [UInt8](repeating: 0x61, count: 401)))) == .messageTooBig)
        var huge = reader(max: 1000)
        #expect(code(huge.feed([0x81, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + mask)) == .messageTooBig)
        var exact = reader(max: 1000)
        #expect(exact.feed(masked(.text, [UInt8](repeating: 0x61, count: 1000))).count == 1)
    }

    @Test func closeFramesAndWhatFollowsThem() {
        var r = reader()
        let events = r.feed(masked(.close, WebSocketFrame.closePayload(1001, reason: "bye")) + masked(.text, [0x61]))
        #expect(events == [.close(code: 1001, reason: "bye")])
        #expect(r.feed(masked(.text, [0x62])) == [])
        var empty = reader()
        #expect(empty.feed(masked(.close, [])) == [.close(code: nil, reason: "")])
    }

    @Test func afterAFailureLaterBytesAreIgnored() {
        var r = reader()
        _ = r.feed([0x83, 0x80] + mask)
        #expect(r.feed(masked(.text, Array("late".utf8))) == [])
    }

    @Test func binaryMessagesAreReported() {
        var r = reader()
        #expect(r.feed(masked(.binary, [0, 255])) == [.binary([0, 255])])
    }

    /// A server-side reader (the test clients') wants unmasked frames and refuses masked ones.
    @Test func clientSideReaderRefusesMaskedFrames() {
        var r = WebSocketReader(maxMessageBytes: 100, expectMasked: false)
        #expect(r.feed(WebSocketFrame.encode(.text, Array("ok".utf8))) == [.text(Array("ok".utf8))])
        #expect(code(r.feed(masked(.text, [0x61]))) == .protocolError)
    }

    @Test func closeReasonIsCutAtACharacterBoundary() {
        let payload = WebSocketFrame.closePayload(1008, reason: String(repeating: "é", count: 100))
        #expect(payload.count <= 125)
        #expect(String(validating: payload[2...], as: UTF8.self) != nil)
    }
}
