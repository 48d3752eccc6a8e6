import Testing
@testable import SegTransport

@Suite struct MessageFramerTests {
    func lsp(_ body: String) -> [UInt8] { Array("Content-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8) }

    func messages(_ events: [MessageFramer.Event]) -> [String] {
        events.compactMap { if case .message(let b) = $0 { return String(decoding: b, as: UTF8.self) } else { return nil } }
    }

    @Test func detectsFramingFromTheFirstNonBlankByte() {
        var a = MessageFramer()
        _ = a.feed(Array("  \r\n{\"a\":1}\n".utf8))
        #expect(a.framing == .newlineDelimited)
        var b = MessageFramer()
        _ = b.feed(Array("\n[1]\n".utf8))
        #expect(b.framing == .newlineDelimited)
        var c = MessageFramer()
        _ = c.feed(Array("Content-Length: 2\r\n\r\n{}".utf8))
        #expect(c.framing == .contentLength)
    }

    @Test func deliversAMessageFedOneByteAtATime() {
        let stream = lsp(#"{"x":"é"}"#) + lsp("[]")
        var f = MessageFramer()
        var got: [String] = []
        for byte in stream { got += messages(f.feed([byte])) }
        #expect(got == [#"{"x":"é"}"#, "[]"])
    }

    @Test func deliversSeveralMessagesFromOneRead() {
        var f = MessageFramer()
        #expect(messages(f.feed(lsp("{}") + lsp("{\"a\":1}") + lsp("{\"b\":2}"))) == ["{}", "{\"a\":1}", "{\"b\":2}"])
    }

    @Test func splitsAtEveryPossibleOffset() {
        let stream = lsp(#"{"id":1}"#) + lsp(#"{"id":2}"#)
        for cut in 0...stream.count {
            var f = MessageFramer()
            let got = messages(f.feed(stream[0..<cut])) + messages(f.feed(stream[cut...]))
            #expect(got == [#"{"id":1}"#, #"{"id":2}"#], "cut at \(cut)")
        }
    }

    @Test func headerNamesAreCaseInsensitiveAndContentTypeIsIgnored() {
        var f = MessageFramer()
        let s = "content-type: application/vscode-jsonrpc; charset=utf-8\r\nCONTENT-LENGTH:  2 \r\n\r\n{}"
        #expect(messages(f.feed(Array(s.utf8))) == ["{}"])
    }

    @Test func toleratesBareNewlineHeaders() {
        var f = MessageFramer()
        #expect(messages(f.feed(Array("Content-Length: 2\n\n{}".utf8))) == ["{}"])
    }

    @Test(arguments: [
        "Content-Type: x\r\n\r\n",
        "Content-Length: abc\r\n\r\n",
        "Content-Length: -5\r\n\r\n",
        "garbage without colon\r\n\r\n",
        "Content-Length: 2\r\nContent-Length: 3\r\n\r\n",
    ])
    func badHeadersAreReportedAndTheStreamResyncs(header: String) {
        var f = MessageFramer()
        let events = f.feed(Array(header.utf8) + lsp("{}"))
        #expect(events.count == 2)
        guard case .error(.badHeader)? = events.first else {
            Issue.record("expected a bad header error, got \(events)")
            return
        }
        #expect(messages(events) == ["{}"])
    }

    /// A bad header followed by its body: the body must not be read as the next header, or
    /// the valid message after it is lost as well.
    @Test(arguments: [
        "Content-Length: 7\r\nContent-Length: 9\r\n\r\n{\"a\":11}",
        "Content-Type: x\r\n\r\n{\"content-length:\":1}",
        "Content-Length: seven\r\n\r\n{\"a\":1}\r\n",
        "garbage without colon\r\n\r\n[1,2,3]",
    ])
    func badHeaderWithABodyLosesNoFollowingMessage(bad: String) {
        let stream = Array(bad.utf8) + lsp(#"{"id":2}"#) + lsp(#"{"id":3}"#)
        for cut in 0...stream.count {
            var f = MessageFramer()
            let events = f.feed(stream[0..<cut]) + f.feed(stream[cut...])
            let errors = events.filter { if case .error(.badHeader) = $0 { return true } else { return false } }
            #expect(errors.count == 1, "cut at \(cut): \(events)")
            #expect(messages(events) == [#"{"id":2}"#, #"{"id":3}"#], "cut at \(cut)")
        }
    }

    @Test func headerTooLongThenAValidMessage() {
        var f = MessageFramer()
        var events = f.feed([UInt8](repeating: UInt8(ascii: "A"), count: 10_000))
        events += f.feed(Array(" more garbage\r\n\r\n{}".utf8) + lsp(#"{"id":1}"#))
        #expect(events.first == .error(.headerTooLong(limit: 8192)))
        #expect(messages(events) == [#"{"id":1}"#])
    }

    @Test func oversizedBodyIsSkippedWithoutBufferingAndTheStreamStaysInSync() {
        var f = MessageFramer(maxBodyBytes: 10)
        let big = String(repeating: "x", count: 5000)
        var events = f.feed(Array("Content-Length: 5000\r\n\r\n".utf8))
        #expect(events == [.error(.bodyTooLarge(length: 5000, limit: 10))])
        // Deliver the oversized body in pieces: none of it may be kept.
        for chunk in stride(from: 0, to: 5000, by: 1000) {
            events = f.feed(Array(big.utf8)[chunk..<chunk + 1000])
            #expect(events.isEmpty)
            #expect(f.buffer.count - f.start == 0)
        }
        #expect(messages(f.feed(lsp("{}"))) == ["{}"])
    }

    @Test func oversizedBodyTailSharingAReadWithTheNextMessage() {
        var f = MessageFramer(maxBodyBytes: 4)
        let events = f.feed(Array("Content-Length: 6\r\n\r\n123456".utf8) + lsp("{}"))
        #expect(events.count == 2)
        #expect(messages(events) == ["{}"])
    }

    @Test func endlessHeaderIsCutOff() {
        var f = MessageFramer()
        let events = f.feed([UInt8](repeating: UInt8(ascii: "A"), count: 10_000))
        #expect(events == [.error(.headerTooLong(limit: 8192))])
    }

    @Test func newlineDelimitedSkipsBlankLinesAndStripsCR() {
        var f = MessageFramer()
        #expect(messages(f.feed(Array("{\"a\":1}\r\n\n   \n[2]\n".utf8))) == ["{\"a\":1}", "[2]"])
    }

    @Test func newlineDelimitedOversizedLineIsSkipped() {
        var f = MessageFramer(maxBodyBytes: 8)
        var events = f.feed(Array("{\"aaaaaaaaaaaaaaaaaaaaa".utf8))
        events += f.feed(Array("aaaaaaa\"}\n{}\n".utf8))
        #expect(events.count == 2)
        guard case .error(.bodyTooLarge)? = events.first else {
            Issue.record("expected bodyTooLarge, got \(events)")
            return
        }
        #expect(messages(events) == ["{}"])
    }

    /// An NDJSON line is kept only until it passes the limit (it cannot be known to be too
    /// long sooner); its remainder is skipped without being copied, each byte is looked at
    /// once however many reads the line takes, and the stream resumes after its newline.
    @Test func newlineDelimitedOversizedLineIsSkippedWithoutKeepingItsRest() {
        var f = MessageFramer(maxBodyBytes: 4096, framing: .newlineDelimited)
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        var events: [MessageFramer.Event] = []
        for _ in 0..<4 {
            events += f.feed(chunk)
            #expect(f.scanned == f.buffer.count, "the scan resumes where it stopped")
        }
        #expect(events.isEmpty)
        events += f.feed(chunk)
        #expect(events == [.error(.bodyTooLarge(length: 5000, limit: 4096))])
        for _ in 0..<100 {
            #expect(f.feed(chunk).isEmpty)
            #expect(f.buffer.isEmpty, "the rest of an oversized line is not copied")
        }
        #expect(messages(f.feed(Array("aaa\n{\"id\":1}\n".utf8))) == [#"{"id":1}"#])
    }

    @Test func lastLineWithoutNewlineIsDeliveredAtEnd() {
        var f = MessageFramer()
        #expect(messages(f.feed(Array("{}\n{\"a\":1}".utf8))) == ["{}"])
        #expect(messages(f.finish()) == ["{\"a\":1}"])
    }

    @Test func truncatedBodyIsReportedAtEnd() {
        var f = MessageFramer()
        _ = f.feed(Array("Content-Length: 10\r\n\r\n{\"a\"".utf8))
        #expect(f.finish() == [.error(.truncated(expected: 10, received: 4))])
    }

    @Test func writerFramesBothWays() {
        #expect(String(decoding: MessageWriter.frame(Array("{}".utf8), framing: .contentLength), as: UTF8.self) == "Content-Length: 2\r\n\r\n{}")
        #expect(MessageWriter.frame(Array("{}".utf8), framing: .newlineDelimited) == Array("{}\n".utf8))
    }
}
