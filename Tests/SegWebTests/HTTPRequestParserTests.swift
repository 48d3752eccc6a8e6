import SegWeb
import Testing

/// Requests split any way a socket may split them, pipelined, malformed and over each limit.
struct HTTPRequestParserTests {
    let get = "GET /app.js?token=ab%2Bc&x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nCookie: a=1; segslim-token-8080=t0k\r\nConnection: keep-alive, Upgrade\r\n\r\n"

    func parseAll(_ text: String, limits: HTTPRequestParser.Limits = .init()) throws(HTTPRequestParser.Failure) -> [HTTPRequest] {
        var p = HTTPRequestParser(limits: limits)
        p.feed(Array(text.utf8))
        var out: [HTTPRequest] = []
        while let r = try p.next() { out.append(r) }
        return out
    }

    func failure(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> HTTPRequestParser.Failure? {
        do { _ = try parseAll(text, limits: limits); return nil } catch { return error }
    }

    @Test func parsesAGetWithQueryCookieAndHeaderLists() throws {
        let rs = try parseAll(get)
        #expect(rs.count == 1)
        let r = try #require(rs.first)
        #expect(r.method == "GET" && r.target == "/app.js?token=ab%2Bc&x=1" && r.version == "HTTP/1.1")
        #expect(r.path == "/app.js")
        #expect(r.queryValue("token") == "ab+c")
        #expect(r.queryValue("x") == "1")
        #expect(r.queryValue("y") == nil)
        #expect(r.header("host") == "127.0.0.1:8080")
        #expect(r.cookie("segslim-token-8080") == "t0k")
        #expect(r.headerTokens("connection") == ["keep-alive", "upgrade"])
        #expect(r.keepAlive)
    }

    @Test func byteByByteFeedingYieldsTheSameRequest() throws {
        let whole = try parseAll(get)
        var p = HTTPRequestParser()
        var got: [HTTPRequest] = []
        for b in get.utf8 {
            p.feed([b])
            while let r = try p.next() { got.append(r) }
        }
        #expect(got == whole)
    }

    @Test func pipelinedRequestsWithABodyAndBareLineFeeds() throws {
        let text = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.0\nHost: h\n\nGET /c HTTP/1.1\r\n\r\n"
        let rs = try parseAll(text)
        #expect(rs.map(\.target) == ["/a", "/b", "/c"])
        #expect(rs[0].body == Array("hello".utf8))
        #expect(!rs[1].keepAlive)   // HTTP/1.0 without keep-alive
        #expect(rs[1].header("Host") == "h")
    }

    @Test func bytesAfterTheRequestAreKeptForTheWebSocket() throws {
        var p = HTTPRequestParser()
        p.feed(Array("GET /rpc HTTP/1.1\r\nHost: h\r\n\r\n".utf8) + [0x81, 0x80])
        #expect(try p.next()?.target == "/rpc")
        #expect(p.takeRemaining() == [0x81, 0x80])
    }

    @Test func malformedRequestsAre400AndSticky() {
        let cases = [
            "\u{01}\u{02}garbage\r\n\r\n",
            "GET /\r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n",
            "GET http://evil.com/ HTTP/1.1\r\n\r\n",
            "GET * HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            "GET / HTTP/1.1\r\nA: b\r\n  folded\r\n\r\n",
            "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "GET / HTTP/1.1\r\nA: b\u{7F}\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",
        ]
        for c in cases {
            let f = failure(c)
            #expect(f?.status.code == 400, "\(c.debugDescription): \(String(describing: f))")
        }
        var p = HTTPRequestParser()
        p.feed(Array("BAD\r\n\r\nGET / HTTP/1.1\r\n\r\n".utf8))
        #expect(throws: HTTPRequestParser.Failure.self) { try p.next() }
        #expect(throws: HTTPRequestParser.Failure.self) { try p.next() }
    }

    @Test func versionsAndTransferEncodings() {
        #expect(failure("GET / HTTP/2.0\r\n\r\n")?.status.code == 505)
        #expect(failure("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")?.status.code == 501)
    }

    /// Limits hold while bytes arrive: an endless request line or header section fails as soon
    /// as it passes the limit, without waiting for a line end that never comes.
    @Test func limitsFailEarly() throws {
        var limits = HTTPRequestParser.Limits()
        limits.requestLineBytes = 64
        limits.headerBytes = 256
        limits.headerCount = 4
        limits.bodyBytes = 10

        var p = HTTPRequestParser(limits: limits)
        var thrown: HTTPRequestParser.Failure? = nil
        var fed = 0
        for b in ("GET /" + String(repeating: "a", count: 200)).utf8 {
            p.feed([b])
            fed += 1
            do { _ = try p.next() } catch { thrown = error; break }
        }
        #expect(thrown?.status.code == 414)
        #expect(fed == 65)

        var h = HTTPRequestParser(limits: limits)
        h.feed(Array(("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 400)).utf8))
        #expect(throws: HTTPRequestParser.Failure.headersTooLarge(limit: 256)) { try h.next() }

        let many = "GET / HTTP/1.1\r\n" + (0..<5).map { "H\($0): v\r\n" }.joined() + "\r\n"
        #expect(failure(many, limits: limits)?.status.code == 431)
        #expect(failure("GET / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits: limits)?.status.code == 413)
        #expect(try parseAll("GET / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits).count == 1)
    }

    @Test func percentDecoding() {
        #expect(PercentDecoding.decode("%2e%2E/a%20b") == "../a b")
        #expect(PercentDecoding.decode("a+b", plusIsSpace: true) == "a b")
        #expect(PercentDecoding.decode("a+b") == "a+b")
        #expect(PercentDecoding.decode("%zz") == nil)
        #expect(PercentDecoding.decode("%4") == nil)
        #expect(PercentDecoding.decode("%ff") == nil)          // not UTF-8
        #expect(PercentDecoding.decode("%C3%A9") == "é")
    }
}
