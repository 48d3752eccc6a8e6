import SegWeb
import SegTensor
import Testing

/// Mangled and random input into both parsers, in random pieces: every outcome is a request,
/// a message, or a typed failure; nothing crashes, nothing is held past the limits, and a
/// failure is final.
struct ParserFuzzTests {
    /// SegTensor's SplitMix64: a fixed seed makes every run feed the same bytes.
    typealias Rng = SeededGenerator

    func mutate(_ bytes: [UInt8], _ rng: inout Rng) -> [UInt8] {
        var out = bytes
        for _ in 0..<rng.int(4) where !out.isEmpty {
            let i = rng.int(out.count)
            switch rng.int(4) {
            case 0: out[i] = rng.byte()
            case 1: out.remove(at: i)
            case 2: out.insert(rng.byte(), at: i)
            default: out.insert(contentsOf: out[i...].prefix(rng.int(64)), at: i)
            }
        }
        return out
    }

    /// Feeds `bytes` in random pieces to `feed`; stops at the first failure.
    func inPieces(_ bytes: [UInt8], _ rng: inout Rng, _ feed: (ArraySlice<UInt8>) -> Bool) {
        var i = 0
        while i < bytes.count {
            let n = 1 + rng.int(40)
            guard feed(bytes[i..<min(i + n, bytes.count)]) else { return }
            i += n
        }
    }

    @Test func httpParserTakesMangledRequests() {
        var rng = Rng(seed: 0x5E65_11A4)
        var limits = HTTPRequestParser.Limits()
        limits.requestLineBytes = 256
        limits.headerBytes = 512
        limits.bodyBytes = 64
        let valid = Array(("GET /app.js?token=abc HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nOrigin: http://127.0.0.1:8000\r\n\r\n"
            + "POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc").utf8)
        var parsed = 0, failed = 0
        for _ in 0..<400 {
            var p = HTTPRequestParser(limits: limits)
            var input = mutate(valid, &rng)
            if rng.int(4) == 0 { input += (0..<rng.int(2000)).map { _ in rng.byte() } }
            inPieces(input, &rng) { piece in
                p.feed(piece)
                do {
                    while let r = try p.next() {
                        parsed += 1
                        #expect(r.body.count <= limits.bodyBytes)
                        #expect(r.target.hasPrefix("/"))
                    }
                    return true
                } catch {
                    failed += 1
                    #expect((400...505).contains((error as? HTTPRequestParser.Failure)?.status.code ?? 0), "\(error)")
                    #expect(throws: HTTPRequestParser.Failure.self) { try p.next() }
                    return false
                }
            }
        }
        #expect(parsed > 0 && failed > 0)
    }

    @Test func webSocketReaderTakesMangledFrames() {
        var rng = Rng(seed: 42)
        let mask: [UInt8] = [1, 2, 3, 4]
        let valid = WebSocketFrame.encode(.text, Array(#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#.utf8), mask: mask)
            + WebSocketFrame.encode(.ping, [9], mask: mask)
            + WebSocketFrame.encode(.text, Array("ab".utf8), fin: false, mask: mask) + WebSocketFrame.encode(.continuation, Array("c".utf8), mask: mask)
        var texts = 0, failures = 0
        for _ in 0..<400 {
            var r = WebSocketReader(maxMessageBytes: 256)
            var input = mutate(valid, &rng)
            if rng.int(4) == 0 { input += (0..<rng.int(2000)).map { _ in rng.byte() } }
            var ended = false
            inPieces(input, &rng) { piece in
                for e in r.feed(piece) {
                    #expect(!ended, "an event after the reader finished")
                    switch e {
                    case .text(let t):
                        texts += 1
                        #expect(t.count <= 256 && String(validating: t, as: UTF8.self) != nil)
                    case .binary(let b): #expect(b.count <= 256)
                    case .ping(let p), .pong(let p): #expect(p.count <= 125)
                    case .close: ended = true
                    case .failure: failures += 1; ended = true
                    }
                }
                return true
            }
            #expect(ended == r.isFinished)
        }
        #expect(texts > 0 && failures > 0)
    }
}
