import Foundation

/// Who may talk to the web transport, checked on every request and on the WebSocket upgrade
/// (as Jupyter and language servers on a port do it):
///
/// - `Host` must name this server (`127.0.0.1`, `localhost` or `[::1]` with its port, or a
///   name given with `--allow-host`): a page from another site that rebinds its DNS name to
///   127.0.0.1 still sends its own name, and is refused.
/// - `Origin`, when a browser sends one, must be this server's own origin: other sites' pages
///   cannot drive the daemon through the visitor's browser.
/// - The token, from `?token=`, the cookie set on the first good request, or
///   `Authorization: Bearer`, compared in constant time.
package struct WebAccessPolicy: Sendable {
    package enum Verdict: Sendable, Equatable {
        case allowed(viaQueryToken: Bool)
        case forbidden(String)
    }

    package let token: String
    package let port: UInt16
    /// Lower-cased host names (IPv6 in brackets) that name this server at its port.
    package let localHosts: Set<String>
    /// Extra names (`--allow-host`), accepted with any port (a proxy in front may change it).
    package let extraHosts: Set<String>

    package init(token: String, port: UInt16, extraHosts: [String] = []) {
        self.token = token
        self.port = port
        self.localHosts = ["127.0.0.1", "localhost", "[::1]"]
        self.extraHosts = Set(extraHosts.map { $0.lowercased() })
    }

    /// The cookie that carries the token after the first request. Cookies are not told apart
    /// by port, so the name carries it: two daemons on one machine keep their own.
    package var cookieName: String { "segslim-token-\(port)" }

    package func check(_ request: HTTPRequest) -> Verdict {
        // Exactly one Host (RFC 9112 §3.2): two could each satisfy a different reader.
        let hosts = request.headers.filter { $0.name.lowercased() == "host" }
        guard hosts.count == 1, let host = hosts.first?.value, hostIsAllowed(host) else {
            return .forbidden("Host \(hosts.map(\.value))")
        }
        if let origin = request.header("Origin") {
            guard originIsAllowed(origin) else { return .forbidden("Origin \(origin)") }
        }
        if let q = request.queryValue("token"), Self.constantTimeEqual(q, token) { return .allowed(viaQueryToken: true) }
        if let c = request.cookie(cookieName), Self.constantTimeEqual(c, token) { return .allowed(viaQueryToken: false) }
        if let auth = request.header("Authorization"), auth.lowercased().hasPrefix("bearer "),
           Self.constantTimeEqual(String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces), token) {
            return .allowed(viaQueryToken: false)
        }
        return .forbidden("token")
    }

    /// `name[:port]` from a Host header or an origin's authority.
    package func hostIsAllowed(_ authority: String) -> Bool {
        let (name, port) = Self.split(authority: authority.lowercased())
        if extraHosts.contains(name) { return true }
        return localHosts.contains(name) && (port ?? 80) == self.port
    }

    package func originIsAllowed(_ origin: String) -> Bool {
        let lower = origin.lowercased()
        if lower.hasPrefix("http://") { return hostIsAllowed(String(lower.dropFirst(7))) }
        // Behind a TLS proxy the page's origin is https, under a name given with --allow-host.
        if lower.hasPrefix("https://") {
            let (name, _) = Self.split(authority: String(lower.dropFirst(8)))
            return extraHosts.contains(name)
        }
        return false   // "null" (sandboxed frames, file: pages) and every other scheme
    }

    static func split(authority: String) -> (name: String, port: Int?) {
        var name = Substring(authority), port: Int? = nil
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]") {
            name = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]), (0...65535).contains(p) else { return ("", nil) }
            port = p
        }
        guard !name.isEmpty, !name.contains("/"), !name.contains("@") else { return ("", nil) }
        return (String(name), port)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    /// 32 random bytes as hex.
    package static func randomToken() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<32).map { _ in
            let byte = UInt8.random(in: .min ... .max, using: &rng)
            return String(byte >> 4, radix: 16) + String(byte & 0xF, radix: 16)
        }.joined()
    }
}
