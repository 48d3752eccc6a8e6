/// Splits a byte stream into JSON-RPC message bodies.
///
/// Two framings, chosen by the first non-blank byte of the connection: `{` or `[` means
/// newline-delimited JSON (so `echo '{...}' | segslimd` works), anything else means LSP's
/// `Content-Length: N\r\n\r\n` + N bytes. A small state machine that keeps only what it needs:
/// messages split across reads and several messages in one read both work, and a body over
/// the size limit is skipped byte for byte (never buffered) so the stream stays in sync.
package struct MessageFramer: Sendable {
    package enum Framing: String, Sendable { case contentLength, newlineDelimited }

    package enum Event: Sendable, Equatable {
        case message([UInt8])
        case error(FramingError)
    }

    enum State: Sendable, Equatable {
        case detecting
        case header
        case body(length: Int)
        /// Skipping an oversized LSP body.
        case discardingBody(remaining: Int)
        /// After a bad header: the body's length is unknown (missing, unreadable or conflicting
        /// Content-Length), so everything up to the next `Content-Length:` header is skipped.
        case resyncing
        case line
        /// Skipping an oversized NDJSON line up to its newline.
        case discardingLine
    }

    package let maxBodyBytes: Int
    /// Headers longer than this without a blank line are garbage, not a header.
    package let maxHeaderBytes = 8192
    package private(set) var framing: Framing?
    var state: State = .detecting
    var buffer: [UInt8] = []
    var start = 0  // consumed prefix of `buffer`
    /// How far `.line` has looked for a newline, so each byte is scanned once however many
    /// reads a long line takes.
    var scanned = 0

    package init(maxBodyBytes: Int = 256 << 20, framing: Framing? = nil) {
        self.maxBodyBytes = maxBodyBytes
        if let framing {
            self.framing = framing
            state = framing == .contentLength ? .header : .line
        }
    }

    var available: Int { buffer.count - start }

    /// Feeds bytes read from the connection; returns the events they complete, in order.
    package mutating func feed(_ bytes: some Collection<UInt8>) -> [Event] {
        var events: [Event] = []
        feed(bytes) { events.append($0) }
        return events
    }

    package mutating func feed(_ bytes: some Collection<UInt8>, _ emit: (Event) -> Void) {
        if case .discardingBody(let remaining) = state, available == 0 {
            // Fast skip without copying: the whole read may belong to the oversized body.
            if bytes.count <= remaining {
                state = remaining == bytes.count ? .header : .discardingBody(remaining: remaining - bytes.count)
                return
            }
        }
        if state == .discardingLine, available == 0 {
            // The same for an oversized line: only what follows its newline is kept.
            guard let nl = bytes.firstIndex(of: 0x0A) else { return }
            state = .line
            buffer.append(contentsOf: bytes[bytes.index(after: nl)...])
            while step(emit) {}
            compact()
            return
        }
        buffer.append(contentsOf: bytes)
        while step(emit) {}
        compact()
    }

    /// End of input: a message cut short is reported, not dropped silently.
    package mutating func finish() -> [Event] {
        var events: [Event] = []
        switch state {
        case .body(let length):
            events.append(.error(.truncated(expected: length, received: available)))
        case .header where available > 0 && !buffer[start...].allSatisfy(Self.isBlank):
            events.append(.error(.truncatedHeader))
        case .line where available > 0:
            // A last line without its newline is still a complete message.
            let line = Array(buffer[start...])
            if !line.allSatisfy(Self.isBlank) { events.append(.message(Self.trimCR(line))) }
        default: break
        }
        buffer = []
        start = 0
        scanned = 0
        return events
    }

    static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    static func trimCR(_ line: [UInt8]) -> [UInt8] {
        line.last == 0x0D ? Array(line.dropLast()) : line
    }

    mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
            scanned = 0
        } else if start > 65536 && start > buffer.count / 2 {
            buffer.removeFirst(start)
            scanned = max(0, scanned - start)
            start = 0
        }
    }

    /// Makes one transition; false when more bytes are needed.
    mutating func step(_ emit: (Event) -> Void) -> Bool {
        switch state {
        case .detecting:
            while start < buffer.count, Self.isBlank(buffer[start]) { start += 1 }
            guard start < buffer.count else { return false }
            let first = buffer[start]
            framing = (first == UInt8(ascii: "{") || first == UInt8(ascii: "[")) ? .newlineDelimited : .contentLength
            state = framing == .contentLength ? .header : .line
            return true

        case .header:
            // Blank lines between messages are tolerated.
            while start < buffer.count, buffer[start] == 0x0D || buffer[start] == 0x0A { start += 1 }
            guard let end = headerEnd() else {
                if available > maxHeaderBytes {
                    emit(.error(.headerTooLong(limit: maxHeaderBytes)))
                    start = buffer.count
                    state = .resyncing
                }
                return false
            }
            let headerBytes = Array(buffer[start..<end.headerEnd])
            start = end.bodyStart
            switch Self.parseHeader(headerBytes) {
            case .failure(let e):
                emit(.error(e))
                // Reading its body as the next header would lose the message after it too.
                state = .resyncing
            case .success(let length):
                if length > maxBodyBytes {
                    emit(.error(.bodyTooLarge(length: length, limit: maxBodyBytes)))
                    state = .discardingBody(remaining: length)
                } else {
                    state = .body(length: length)
                }
            }
            return true

        case .body(let length):
            guard available >= length else { return false }
            emit(.message(Array(buffer[start..<start + length])))
            start += length
            state = .header
            return true

        case .discardingBody(let remaining):
            let n = min(remaining, available)
            start += n
            state = remaining == n ? .header : .discardingBody(remaining: remaining - n)
            return remaining == n

        case .resyncing:
            switch nextHeaderStart() {
            case .found(let i):
                start = i
                state = .header
                return true
            case .later(let i):
                start = i  // keep only what may be the start of a header split across reads
                return false
            case nil:
                start = buffer.count
                return false
            }

        case .line:
            guard let nl = buffer[max(start, scanned)...].firstIndex(of: 0x0A) else {
                scanned = buffer.count
                if available > maxBodyBytes {
                    emit(.error(.bodyTooLarge(length: available, limit: maxBodyBytes)))
                    start = buffer.count
                    state = .discardingLine
                }
                return false
            }
            let line = Self.trimCR(Array(buffer[start..<nl]))
            start = nl + 1
            scanned = start
            if line.count > maxBodyBytes {
                emit(.error(.bodyTooLarge(length: line.count, limit: maxBodyBytes)))
            } else if !line.allSatisfy(Self.isBlank) {
                emit(.message(line))
            }
            return true

        case .discardingLine:
            guard let nl = buffer[start...].firstIndex(of: 0x0A) else {
                start = buffer.count
                return false
            }
            start = nl + 1
            state = .line
            return true
        }
    }

    static let headerMarker = Array("content-length:".utf8)

    /// Where the next `Content-Length: <digit>` header starts (any case), `.later(i)` when one
    /// may start at `i` but has not fully arrived, or nil when there is none in the buffer. A
    /// body is JSON, where such text can only sit inside a string; requiring the digit keeps
    /// a key like `"content-length:"` from being taken for a header.
    enum Resync: Equatable { case found(Int), later(Int) }

    func nextHeaderStart() -> Resync? {
        let m = Self.headerMarker
        var i = start
        while i < buffer.count {
            var k = 0
            while k < m.count, i + k < buffer.count, Self.lowercased(buffer[i + k]) == m[k] { k += 1 }
            if i + k == buffer.count { return .later(i) }
            if k == m.count {
                var j = i + k
                // Bounded, so a run of blanks cannot make the skipped bytes pile up.
                while j < buffer.count, j - i < 64, buffer[j] == 0x20 || buffer[j] == 0x09 { j += 1 }
                if j == buffer.count { return .later(i) }
                if buffer[j] >= 0x30 && buffer[j] <= 0x39 { return .found(i) }
            }
            i += 1
        }
        return nil
    }

    static func lowercased(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    /// Finds the blank line ending a header block: `\r\n\r\n`, or `\n\n` from sloppy writers.
    func headerEnd() -> (headerEnd: Int, bodyStart: Int)? {
        var i = start
        while i < buffer.count {
            if buffer[i] == 0x0A {
                if i + 1 < buffer.count, buffer[i + 1] == 0x0A { return (i, i + 2) }
                if i + 2 < buffer.count, buffer[i + 1] == 0x0D, buffer[i + 2] == 0x0A { return (i, i + 3) }
            }
            i += 1
        }
        return nil
    }

    /// Parses `Name: value` lines; names are case-insensitive, `Content-Type` and unknown
    /// headers are ignored, `Content-Length` is required.
    static func parseHeader(_ bytes: [UInt8]) -> Result<Int, FramingError> {
        guard String(validating: bytes, as: UTF8.self) != nil else { return .failure(.badHeader("header is not UTF-8")) }
        var length: Int? = nil
        // Split on bytes: as Swift Characters, "\r\n" is one grapheme and would not split on "\n".
        for rawLine in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
            let line = Substring(decoding: rawLine.last == 0x0D ? rawLine.dropLast() : rawLine, as: UTF8.self)
            if line.isEmpty { continue }
            guard let colon = line.firstIndex(of: ":") else {
                return .failure(.badHeader("header line without ':': \(line.prefix(60))"))
            }
            let name = line[..<colon].trimmingSpaces.lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            if name == "content-length" {
                guard let n = Int(value), n >= 0 else {
                    return .failure(.badHeader("Content-Length is not a non-negative integer: \(value.prefix(40))"))
                }
                if let length, length != n { return .failure(.badHeader("conflicting Content-Length headers")) }
                length = n
            }
        }
        guard let length else { return .failure(.badHeader("missing Content-Length header")) }
        return .success(length)
    }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

/// What can go wrong below JSON: the server answers each with an error whose id is null.
package enum FramingError: Error, Sendable, Equatable, CustomStringConvertible {
    case badHeader(String)
    case headerTooLong(limit: Int)
    case bodyTooLarge(length: Int, limit: Int)
    case truncated(expected: Int, received: Int)
    case truncatedHeader

    package var description: String {
        switch self {
        case .badHeader(let why): return "bad message header: \(why)"
        case .headerTooLong(let limit): return "message header longer than \(limit) bytes without a blank line"
        case .bodyTooLarge(let length, let limit):
            return "message body of \(length) bytes exceeds the limit of \(limit) bytes (start segslimd with --max-message-bytes to raise it); the body was skipped"
        case .truncated(let expected, let received): return "connection closed after \(received) of \(expected) body bytes"
        case .truncatedHeader: return "connection closed in the middle of a message header"
        }
    }
}
