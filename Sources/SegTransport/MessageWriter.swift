import Foundation
import SegProtocol
import Synchronization

/// Writes framed messages to a file descriptor, one whole message at a time, from any thread.
/// A peer that went away (EPIPE) makes writes no-ops rather than killing the process.
package final class MessageWriter: MessageSink {
    package let fd: Int32
    let state: Mutex<(framing: MessageFramer.Framing, closed: Bool)>

    package init(fd: Int32, framing: MessageFramer.Framing = .contentLength) {
        self.fd = fd
        self.state = Mutex((framing, false))
    }

    package var framing: MessageFramer.Framing {
        get { state.withLock { $0.framing } }
        set { state.withLock { $0.framing = newValue } }
    }

    package var isClosed: Bool { state.withLock { $0.closed } }

    package var peerIsGone: Bool { PeerWatch.isGone(fd: fd) }

    package static func frame(_ body: [UInt8], framing: MessageFramer.Framing) -> [UInt8] {
        switch framing {
        case .contentLength:
            var out = Array("Content-Length: \(body.count)\r\n\r\n".utf8)
            out.append(contentsOf: body)
            return out
        case .newlineDelimited:
            // Our serializer escapes control characters, so a body never contains a newline.
            return body + [0x0A]
        }
    }

    @discardableResult
    package func send(body: [UInt8]) -> Bool {
        state.withLock { s in
            guard !s.closed else { return false }
            let bytes = Self.frame(body, framing: s.framing)
            if !Self.writeAll(fd: fd, bytes) { s.closed = true }
            return !s.closed
        }
    }

    static func writeAll(fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                guard let base = raw.baseAddress else { return true }
                let n = write(fd, base + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }
}
