/// Splits the bytes of an HTTP/1.1 connection into requests (RFC 9112), within fixed limits.
///
/// Bytes may arrive in any pieces, down to one at a time: the parser keeps what it has and
/// remembers how far it has looked for the end of the header section, so each byte is scanned
/// once. Limits are checked as bytes arrive, before anything over them is buffered. A request
/// it cannot take is a `Failure` naming the status to answer; the connection then closes.
package struct HTTPRequestParser: Sendable {
    package struct Limits: Sendable {
        package var requestLineBytes = 8192
        package var headerBytes = 16384
        package var headerCount = 100
        package var bodyBytes = 64 << 10
        package init() {}
    }

    package enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case badRequest(String)
        case requestLineTooLong(limit: Int)
        case headersTooLarge(limit: Int)
        case bodyTooLarge(limit: Int)
        case notImplemented(String)
        case versionNotSupported(String)

        /// The status line's code and reason.
        package var status: (code: Int, reason: String) {
            switch self {
            case .badRequest: return (400, "Bad Request")
            case .requestLineTooLong: return (414, "URI Too Long")
            case .headersTooLarge: return (431, "Request Header Fields Too Large")
            case .bodyTooLarge: return (413, "Content Too Large")
            case .notImplemented: return (501, "Not Implemented")
            case .versionNotSupported: return (505, "HTTP Version Not Supported")
            }
        }

        package var description: String {
            switch self {
            case .badRequest(let why): return "bad request: \(why)"
            case .requestLineTooLong(let limit): return "request line longer than \(limit) bytes"
            case .headersTooLarge(let limit): return "header section larger than \(limit) bytes or fields"
            case .bodyTooLarge(let limit): return "body larger than \(limit) bytes"
            case .notImplemented(let what): return "not implemented: \(what)"
            case .versionNotSupported(let v): return "HTTP version '\(v)' is not supported"
            }
        }
    }

    package let limits: Limits
    var buffer: [UInt8] = []
    /// How far the search for the blank line that ends the headers has got.
    var scanned = 0
    /// Where the first line of the request being read ends, once seen (so the request-line
    /// limit is checked without rescanning).
    var requestLineEnd: Int? = nil
    /// A request whose headers are in, waiting for this many body bytes.
    var pending: (request: HTTPRequest, bodyLength: Int)? = nil
    var failed: Failure? = nil

    package init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Whether part of a request has arrived (its head or body still incomplete).
    package var isMidRequest: Bool { pending != nil || !buffer.isEmpty }

    package mutating func feed(_ bytes: some Collection<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete request, nil while more bytes are needed. After a failure every call
    /// throws the same failure.
    package mutating func next() throws(Failure) -> HTTPRequest? {
        if let failed { throw failed }
        do {
            return try parseNext()
        } catch {
            failed = error
            throw error
        }
    }

    /// What was read past the last request returned (a WebSocket's first frames, sent before
    /// the handshake's answer arrived); the parser is left empty.
    package mutating func takeRemaining() -> [UInt8] {
        defer { buffer = []; scanned = 0; requestLineEnd = nil }
        return buffer
    }

    mutating func parseNext() throws(Failure) -> HTTPRequest? {
        if pending == nil {
            guard let end = findHeaderEnd() else {
                try checkIncompleteHead()
                return nil
            }
            let head = Array(buffer[0..<end.headEnd])
            buffer.removeFirst(end.bodyStart)
            scanned = 0
            requestLineEnd = nil
            pending = try Self.parseHead(head, limits: limits)
        }
        guard let (request, length) = pending, buffer.count >= length else { return nil }
        var done = request
        done.body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        pending = nil
        return done
    }

    /// The blank line ending the header section: `\r\n\r\n`, or bare `\n\n` (RFC 9112 §2.2
    /// lets a recipient take a lone LF as a line end).
    mutating func findHeaderEnd() -> (headEnd: Int, bodyStart: Int)? {
        // Empty lines before the request line are allowed and skipped (§2.2), all at once.
        if scanned == 0 {
            let blanks = buffer.prefix { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }.count
            if blanks > 0 { buffer.removeFirst(blanks) }
        }
        var i = scanned
        while i < buffer.count {
            if buffer[i] == UInt8(ascii: "\n") {
                if requestLineEnd == nil { requestLineEnd = i }
                if i + 1 < buffer.count, buffer[i + 1] == UInt8(ascii: "\n") { return (i, i + 2) }
                if i + 2 < buffer.count, buffer[i + 1] == UInt8(ascii: "\r"), buffer[i + 2] == UInt8(ascii: "\n") { return (i, i + 3) }
                if i + 2 >= buffer.count { break }   // might still become a blank line
            }
            i += 1
        }
        scanned = i
        return nil
    }

    /// Without a complete header section: fails as soon as what is there is over a limit.
    func checkIncompleteHead() throws(Failure) {
        let lineEnd = requestLineEnd ?? buffer.count
        if lineEnd > limits.requestLineBytes { throw .requestLineTooLong(limit: limits.requestLineBytes) }
        if buffer.count > limits.requestLineBytes + limits.headerBytes { throw .headersTooLarge(limit: limits.headerBytes) }
    }

    static func parseHead(_ head: [UInt8], limits: Limits) throws(Failure) -> (HTTPRequest, Int) {
        var lines = head.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line -> ArraySlice<UInt8> in
            line.last == UInt8(ascii: "\r") ? line.dropLast() : line
        }
        let requestLine = lines.removeFirst()
        guard requestLine.count <= limits.requestLineBytes else { throw .requestLineTooLong(limit: limits.requestLineBytes) }
        guard head.count - requestLine.count <= limits.headerBytes, lines.count <= limits.headerCount else {
            throw .headersTooLarge(limit: limits.headerBytes)
        }
        guard let line = String(validating: requestLine, as: UTF8.self) else { throw .badRequest("request line is not UTF-8") }
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].utf8.allSatisfy(isTokenByte) else {
            throw .badRequest("malformed request line")
        }
        let version = String(parts[2])
        guard version.hasPrefix("HTTP/") else { throw .badRequest("malformed request line") }
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw .versionNotSupported(version) }
        let target = String(parts[1])
        guard target.hasPrefix("/"), target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badRequest("request target must be a path (origin-form)")
        }

        var headers: [(name: String, value: String)] = []
        for raw in lines {
            guard let first = raw.first else { throw .badRequest("empty header line") }
            guard first != UInt8(ascii: " ") && first != UInt8(ascii: "\t") else { throw .badRequest("obsolete line folding") }
            guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { throw .badRequest("header line without a colon") }
            let name = raw[raw.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else { throw .badRequest("invalid header name") }
            let valueBytes = raw[raw.index(after: colon)...]
            guard valueBytes.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                throw .badRequest("control character in header '\(String(decoding: name, as: UTF8.self))'")
            }
            let value = String(decoding: valueBytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            headers.append((String(decoding: name, as: UTF8.self), value))
        }
        let request = HTTPRequest(method: String(parts[0]), target: target, version: version, headers: headers)
        if request.header("Transfer-Encoding") != nil { throw .notImplemented("Transfer-Encoding in a request") }
        let lengths = Set(request.headerTokens("Content-Length"))
        guard lengths.count <= 1 else { throw .badRequest("conflicting Content-Length") }
        var length = 0
        if let text = lengths.first {
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text.count <= 18, let n = Int(text) else {
                throw .badRequest("invalid Content-Length")
            }
            guard n <= limits.bodyBytes else { throw .bodyTooLarge(limit: limits.bodyBytes) }
            length = n
        }
        return (request, length)
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }
    }
}
