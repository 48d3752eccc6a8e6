import Foundation

/// One parsed HTTP/1.1 request (RFC 9112): what the web transport needs of it.
package struct HTTPRequest: Sendable, Equatable {
    package var method: String
    /// The origin-form target as sent: `/path?query`, still percent-encoded.
    package var target: String
    package var version: String
    /// Header fields in arrival order; names as sent (compare case-insensitively).
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package init(method: String, target: String, version: String = "HTTP/1.1",
                 headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
    }

    package static func == (a: HTTPRequest, b: HTTPRequest) -> Bool {
        a.method == b.method && a.target == b.target && a.version == b.version && a.body == b.body
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }

    /// The first value of a header, by case-insensitive name.
    package func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value of a header, comma-separated lists split (`Connection: keep-alive, Upgrade`).
    package func headerTokens(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }
            .flatMap { $0.value.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    }

    /// The target's path, before any `?`, still percent-encoded.
    package var path: String {
        String(target.prefix { $0 != "?" })
    }

    /// A query parameter, percent-decoded; nil when absent or undecodable.
    package func queryValue(_ name: String) -> String? {
        guard let q = target.firstIndex(of: "?") else { return nil }
        for pair in target[target.index(after: q)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, PercentDecoding.decode(parts[0], plusIsSpace: true) == name else { continue }
            return PercentDecoding.decode(parts[1], plusIsSpace: true)
        }
        return nil
    }

    /// A cookie's value from the `Cookie` header(s).
    package func cookie(_ name: String) -> String? {
        for h in headers where h.name.lowercased() == "cookie" {
            for pair in h.value.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// Whether the client wants the connection kept open after this request.
    package var keepAlive: Bool {
        let tokens = headerTokens("Connection")
        if tokens.contains("close") { return false }
        return version == "HTTP/1.1" || tokens.contains("keep-alive")
    }
}

/// `%XX` decoding of URL components. Invalid escapes and bytes that are not UTF-8 make the
/// whole component undecodable (nil), so a path can never decode two ways.
package enum PercentDecoding {
    package static func decode(_ text: some StringProtocol, plusIsSpace: Bool = false) -> String? {
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            let c = utf8[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < utf8.count, let hi = hexValue(utf8[i + 1]), let lo = hexValue(utf8[i + 2]) else { return nil }
                bytes.append(hi << 4 | lo)
                i += 3
            } else {
                bytes.append(plusIsSpace && c == UInt8(ascii: "+") ? UInt8(ascii: " ") : c)
                i += 1
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
