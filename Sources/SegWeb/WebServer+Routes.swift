import Foundation

extension WebServer {
    enum Answer {
        /// `keepOpen`: the connection may serve another request afterwards.
        case reply(HTTPResponse, keepOpen: Bool)
        case upgrade(HTTPResponse)
    }

    /// The path of the JSON-RPC WebSocket.
    package static let rpcPath = "/rpc"

    /// Decides one request: refusals first (Host, Origin, token: 403 and nothing else), then
    /// the WebSocket upgrade at `/rpc`, then static files.
    func respond(to request: HTTPRequest) -> Answer {
        let viaQueryToken: Bool
        switch policy.check(request) {
        case .forbidden(let what):
            configuration.log("http: 403 for \(request.method) \(request.path) (\(what))")
            return .reply(.bare(403, "Forbidden"), keepOpen: false)
        case .allowed(let q):
            viaQueryToken = q
        }
        var headers = securityHeaders(host: request.header("Host") ?? "")
        if viaQueryToken {
            // Later requests (a reload without the query, the page's own files) carry the cookie.
            headers.append(("Set-Cookie", "\(policy.cookieName)=\(policy.token); Path=/; HttpOnly; SameSite=Strict"))
        }
        if request.path == Self.rpcPath {
            return upgrade(request, headers: headers)
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            return .reply(HTTPResponse(status: 405, reason: "Method Not Allowed", headers: headers + [("Allow", "GET, HEAD")]), keepOpen: true)
        }
        guard let files else { return .reply(notFound(headers), keepOpen: true) }
        switch files.lookup(path: request.path) {
        case .forbidden:
            return .reply(.bare(403, "Forbidden"), keepOpen: false)
        case .notFound:
            return .reply(notFound(headers), keepOpen: true)
        case .file(let path, let type):
            guard let data = FileManager.default.contents(atPath: path) else { return .reply(notFound(headers), keepOpen: true) }
            return .reply(HTTPResponse(status: 200, reason: "OK", headers: headers + [("Content-Type", type)], body: Array(data)), keepOpen: true)
        }
    }

    func notFound(_ headers: [(name: String, value: String)]) -> HTTPResponse {
        HTTPResponse(status: 404, reason: "Not Found", headers: headers + [("Content-Type", "text/plain; charset=utf-8")], body: Array("not found\n".utf8))
    }

    /// The WebSocket opening handshake (RFC 6455 §4.2).
    func upgrade(_ request: HTTPRequest, headers: [(name: String, value: String)]) -> Answer {
        func refuse(_ status: Int, _ reason: String, _ extra: [(name: String, value: String)] = []) -> Answer {
            .reply(HTTPResponse(status: status, reason: reason, headers: headers + extra + [("Connection", "close")]), keepOpen: false)
        }
        guard request.method == "GET", request.version == "HTTP/1.1",
              request.headerTokens("Upgrade").contains("websocket"), request.headerTokens("Connection").contains("upgrade") else {
            return refuse(426, "Upgrade Required", [("Upgrade", "websocket")])
        }
        guard request.header("Sec-WebSocket-Version") == "13" else {
            return refuse(426, "Upgrade Required", [("Sec-WebSocket-Version", "13")])
        }
        guard let key = request.header("Sec-WebSocket-Key"), Data(base64Encoded: key)?.count == 16 else {
            return refuse(400, "Bad Request")
        }
        return .upgrade(HTTPResponse(status: 101, reason: "Switching Protocols", headers: [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", WebSocketFrame.acceptValue(forKey: key)),
        ] + headers.filter { $0.name == "Set-Cookie" }))
    }

    /// On every answer past the checks: the page may load only its own files and talk only to
    /// this server's WebSocket; nothing is cached, sniffed, framed or sent on as a referrer
    /// (the page's URL carries the token).
    func securityHeaders(host: String) -> [(name: String, value: String)] {
        [
            ("Content-Security-Policy",
             "default-src 'self'; connect-src 'self' ws://\(host) wss://\(host); img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
                + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
            ("X-Content-Type-Options", "nosniff"),
            ("Cache-Control", "no-store"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
        ]
    }
}
