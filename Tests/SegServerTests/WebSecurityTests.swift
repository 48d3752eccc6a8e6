import Foundation
import SegServer
import SegWeb
import Testing

/// The browser transport's rules, over real sockets: the token on every request, Host and
/// Origin checked, 403 and nothing else when they fail, paths confined to the app folder, a
/// strict CSP, size limits, loopback only.
struct WebSecurityTests {
    func get(_ d: WebDaemon, _ target: String, host: String? = nil, extra: String = "") throws -> HTTPAnswer {
        try httpExchange(port: d.port, "GET \(target) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(d.port)")\r\n\(extra)Connection: close\r\n\r\n")
    }

    /// A refusal is its status line, a zero length and `Connection: close`: no body, no cookie,
    /// no hint of which rule failed.
    func expectBare403(_ a: HTTPAnswer, _ what: String) {
        #expect(a.head == "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0", "\(what): \(a.head)")
        #expect(a.body.isEmpty, "\(what)")
    }

    @Test func tokenOpensThePageAndSetsACookie() async throws {
        let d = try WebDaemon()
        try await offPool {
            let page = try get(d, "/?token=\(d.token)")
            #expect(page.status == 200)
            #expect(String(decoding: page.body, as: UTF8.self).contains("<title>segslim</title>"))
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            let csp = page.header("Content-Security-Policy") ?? ""
            for directive in ["default-src 'self'", "connect-src 'self' ws://127.0.0.1:\(d.port)", "script-src 'self'", "style-src 'self'",
                              "img-src 'self' data: blob:", "frame-ancestors 'none'"] {
                #expect(csp.contains(directive), "CSP lacks \(directive): \(csp)")
            }
            #expect(page.header("X-Content-Type-Options") == "nosniff")
            #expect(page.header("Cache-Control") == "no-store")
            #expect(page.header("Referrer-Policy") == "no-referrer")
            let cookie = try #require(page.header("Set-Cookie"))
            #expect(cookie.hasPrefix("segslim-token-\(d.port)=\(d.token);") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))

            let script = try get(d, "/app.js", extra: "Cookie: segslim-token-\(d.port)=\(d.token)\r\n")
            #expect(script.status == 200)
            #expect(script.header("Content-Type") == "text/javascript; charset=utf-8")
            #expect(script.header("Set-Cookie") == nil)
            #expect(try get(d, "/app.js", extra: "Authorization: Bearer \(d.token)\r\n").status == 200)
            #expect(try get(d, "/app.js", host: "localhost:\(d.port)", extra: "Authorization: Bearer \(d.token)\r\n").status == 200)
        }
    }

    @Test func wrongTokenOriginOrHostGet403AndNothingElse() async throws {
        let d = try WebDaemon()
        try await offPool {
            expectBare403(try get(d, "/"), "no token")
            expectBare403(try get(d, "/app.js"), "no token")
            expectBare403(try get(d, "/?token=\(String(repeating: "0", count: 64))"), "wrong token")
            expectBare403(try get(d, "/?token="), "empty token")
            expectBare403(try get(d, "/", extra: "Cookie: segslim-token-\(d.port)=nope\r\n"), "wrong cookie")
            expectBare403(try get(d, "/?token=\(d.token)", extra: "Origin: http://evil.example\r\n"), "foreign Origin")
            expectBare403(try get(d, "/?token=\(d.token)", extra: "Origin: null\r\n"), "null Origin")
            expectBare403(try get(d, "/?token=\(d.token)", host: "evil.example:\(d.port)"), "rebound Host")
            expectBare403(try get(d, "/?token=\(d.token)", host: "127.0.0.1:1"), "Host with another port")
            expectBare403(try httpExchange(port: d.port, "GET /?token=\(d.token) HTTP/1.1\r\nConnection: close\r\n\r\n"), "no Host")
            #expect(try get(d, "/?token=\(d.token)", extra: "Origin: http://127.0.0.1:\(d.port)\r\n").status == 200)
        }
    }

    @Test func theWebSocketUpgradeIsCheckedToo() async throws {
        let d = try WebDaemon()
        try await offPool {
            func refusal(_ target: String, _ headers: String) -> String {
                do {
                    _ = try WebSocketTestClient(port: d.port, target: target, extraHeaders: headers)
                    return "accepted"
                } catch WebTestError.handshake(let head) {
                    return head.components(separatedBy: "\r\n").first ?? head
                } catch {
                    return "\(error)"
                }
            }
            #expect(refusal("/rpc", "") == "HTTP/1.1 403 Forbidden")
            #expect(refusal("/rpc?token=bad", "") == "HTTP/1.1 403 Forbidden")
            #expect(refusal("/rpc?token=\(d.token)", "Origin: http://evil.example\r\n") == "HTTP/1.1 403 Forbidden")
            #expect(refusal("/rpc?token=\(d.token)", "Origin: http://localhost:\(d.port + 1)\r\n") == "HTTP/1.1 403 Forbidden")
            #expect(refusal("/rpc?token=\(d.token)", "Origin: http://127.0.0.1:\(d.port)\r\n") == "accepted")
            #expect(refusal("/rpc", "Cookie: segslim-token-\(d.port)=\(d.token)\r\n") == "accepted")
            let noUpgrade = try get(d, "/rpc?token=\(d.token)")
            #expect(noUpgrade.status == 426)
            let badVersion = try httpExchange(port: d.port, "GET /rpc?token=\(d.token) HTTP/1.1\r\nHost: 127.0.0.1:\(d.port)\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
            #expect(badVersion.status == 426)
            #expect(badVersion.header("Sec-WebSocket-Version") == "13")
            let badKey = try httpExchange(port: d.port, "GET /rpc?token=\(d.token) HTTP/1.1\r\nHost: 127.0.0.1:\(d.port)\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n")
            #expect(badKey.status == 400)
        }
    }

    @Test func pathsStayInsideTheAppFolder() async throws {
        let d = try WebDaemon()
        try await offPool {
            let secret = "segslim-web-secret.txt"   // beside the app folder
            for target in ["/../\(secret)", "/%2e%2e/\(secret)", "/%2E%2E%2F\(secret)", "/x/../../\(secret)", "//etc/passwd",
                           "/%2Fetc%2Fpasswd", "/..%2F..%2F..%2Fetc%2Fpasswd", "/../Package.swift"] {
                let a = try get(d, target.contains("?") ? target : target + "?token=\(d.token)")
                #expect(a.status == 403 || a.status == 404, "\(target): \(a.status)")
                #expect(!String(decoding: a.body, as: UTF8.self).contains("secret"), "\(target)")
                #expect(!String(decoding: a.body, as: UTF8.self).contains("root:"), "\(target)")
            }
            #expect(try get(d, "/missing.js?token=\(d.token)").status == 404)
            let absolute = try httpExchange(port: d.port, "GET http://127.0.0.1:\(d.port)/?token=\(d.token) HTTP/1.1\r\nHost: 127.0.0.1:\(d.port)\r\n\r\n")
            #expect(absolute.status == 400)
            let post = try httpExchange(port: d.port, "POST /?token=\(d.token) HTTP/1.1\r\nHost: 127.0.0.1:\(d.port)\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
            #expect(post.status == 405)
        }
    }

    @Test func limitsAndGarbageAreRefusedAndServingGoesOn() async throws {
        let d = try WebDaemon()
        try await offPool {
            let big = try httpExchange(port: d.port, "GET /?token=\(d.token) HTTP/1.1\r\nHost: 127.0.0.1:\(d.port)\r\nX: \(String(repeating: "a", count: 40_000))\r\n\r\n")
            #expect(big.status == 431)
            let longLine = try httpExchange(port: d.port, "GET /\(String(repeating: "a", count: 10_000)) HTTP/1.1\r\n\r\n")
            #expect(longLine.status == 414)
            let body = try httpExchange(port: d.port, "POST / HTTP/1.1\r\nHost: 127.0.0.1:\(d.port)\r\nContent-Length: 100000000\r\n\r\n")
            #expect(body.status == 413)
            let garbage = try httpExchange(port: d.port, "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}\r\n\r\n")
            #expect(garbage.status == 400)
            // Two requests on one kept-alive connection.
            let fd = try connectTCP(port: d.port)
            defer { close(fd) }
            let req = "GET /app.js?token=\(d.token) HTTP/1.1\r\nHost: 127.0.0.1:\(d.port)\r\n\r\n"
            writeAll(fd, Array((req + req).utf8))
            var got: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            let twice = eventuallyTrue(30) {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 { got += buffer[0..<n] }
                return String(decoding: got, as: UTF8.self).components(separatedBy: "HTTP/1.1 200 OK").count == 3 || n <= 0
            }
            #expect(twice, "\(String(decoding: got, as: UTF8.self))")
            #expect(try get(d, "/?token=\(d.token)").status == 200)
        }
    }

    @Test func onlyLoopbackUnlessAllowed() throws {
        for host in ["0.0.0.0", "192.0.2.1", "10.1.2.3"] {
            var c = WebServer.Configuration()
            c.host = host
            #expect(throws: TCPListener.Failure.notLoopback("\(host):0")) { try WebServer(c) }
        }
        #expect(throws: TCPListener.Failure.self) { try TCPListener.parse("http://127.0.0.1") }
        #expect(throws: TCPListener.Failure.self) { try TCPListener.parse("127.0.0.1:80") }
        let v6 = try TCPListener.parse("http://[::1]:0/")
        #expect(v6.host == "[::1]" && v6.port == 0)
        var c = WebServer.Configuration()
        c.host = "localhost"
        let s = try WebServer(c)
        #expect(s.port != 0)
        #expect(s.url == "http://127.0.0.1:\(s.port)/?token=\(s.configuration.token)")
        s.stop()
    }
}
