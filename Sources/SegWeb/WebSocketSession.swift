import Foundation
import SegTransport
import Synchronization

/// One upgraded connection: JSON-RPC messages in and out, one per text frame.
///
/// Two threads per session. The reader turns frames into messages for the server and answers
/// pings and closes. A server task that sends never waits on the network: with nothing queued
/// it writes what the socket takes at once (non-blocking), and the rest goes to a queue that a
/// writer thread drains. A client that stops reading only fills its own queue, and once that
/// holds more than `maxQueuedBytes` the session is dropped (its requests are cancelled like
/// those of any client that went away). One answer larger than the bound still goes out when
/// nothing is queued ahead of it.
package final class WebSocketSession: MessageSink {
    package let label: String
    let fd: Int32
    let leftover: [UInt8]
    let maxMessageBytes: Int
    let maxQueuedBytes: Int
    let log: @Sendable (String) -> Void
    let onClosed: @Sendable () -> Void

    struct State {
        var queue: [[UInt8]] = []
        var queuedBytes = 0
        /// No more frames are accepted (a close frame is queued, or the session was dropped).
        var closed = false
        /// Dropped: the writer stops without sending what is queued.
        var aborted = false
        var inputEnded = false
        /// The writer thread holds frames taken from the queue and not yet written.
        var writing = false
        /// Reader and writer each finish once; the descriptor is closed after both.
        var threadsRunning = 2
        var fdClosed = false
    }
    let state = Mutex(State())
    let wake = DispatchSemaphore(value: 0)

    init(fd: Int32, label: String, leftover: [UInt8], maxMessageBytes: Int, maxQueuedBytes: Int,
         log: @escaping @Sendable (String) -> Void, onClosed: @escaping @Sendable () -> Void = {}) {
        self.fd = fd
        self.label = label
        self.leftover = leftover
        self.maxMessageBytes = maxMessageBytes
        self.maxQueuedBytes = maxQueuedBytes
        self.log = log
        self.onClosed = onClosed
        let writer = Thread { [self] in writeLoop() }
        writer.name = "segslim.ws-writer"
        writer.stackSize = 1 << 19
        writer.start()
    }

    // MARK: - MessageSink

    @discardableResult
    package func send(body: [UInt8]) -> Bool {
        enqueue(WebSocketFrame.encode(.text, body), data: true)
    }

    package var isClosed: Bool { state.withLock { $0.closed } }

    /// A WebSocket peer that closed (or lost) its connection reads no answers: there is no
    /// half-closed "done sending, still reading" state as on a pipe.
    package var peerIsGone: Bool { state.withLock { $0.inputEnded || $0.aborted } }

    /// Queued bytes not yet written, for tests and status.
    package var queuedBytes: Int { state.withLock { $0.queuedBytes } }

    // MARK: - Closing

    /// Starts the close handshake from our side (the server ended the session with `exit`).
    package func close(_ code: WebSocketCloseCode = .normal, reason: String = "") {
        closeWith(code.rawValue, reason: reason)
    }

    func closeWith(_ code: UInt16?, reason: String) {
        let payload = code.map { WebSocketFrame.closePayload($0, reason: reason) } ?? []
        let frame = WebSocketFrame.encode(.close, payload)
        state.withLock { s in
            guard !s.closed else { return }
            s.queue.append(frame)
            s.queuedBytes += frame.count
            s.closed = true
        }
        wake.signal()
    }

    /// Drops the connection at once: both threads see it fail and finish.
    func abort(_ why: String) {
        let first = state.withLock { s -> Bool in
            defer { s.closed = true; s.aborted = true }
            if !s.fdClosed { shutdown(fd, Int32(SHUT_RDWR)) }
            return !s.aborted
        }
        if first { log("\(label): \(why); dropping the connection") }
        wake.signal()
    }

    func enqueue(_ frame: [UInt8], data: Bool) -> Bool {
        enum Outcome { case sent, queued, refused, overflow, failed }
        let outcome = state.withLock { s -> Outcome in
            guard !s.closed else { return .refused }
            if data && s.queuedBytes > 0 && s.queuedBytes + frame.count > maxQueuedBytes { return .overflow }
            var rest = frame[...]
            if s.queue.isEmpty && !s.writing {
                // Nothing ahead of this frame: write what the socket takes now, without
                // blocking and without waking the writer thread; only a remainder is queued.
                switch Self.sendNow(fd, frame) {
                case nil: return .failed
                case let n? where n == frame.count: return .sent
                case let n?: rest = frame[n...]
                }
            }
            s.queue.append(Array(rest))
            s.queuedBytes += rest.count
            return .queued
        }
        switch outcome {
        case .sent: return true
        case .queued: wake.signal(); return true
        case .refused: return false
        case .overflow:
            abort("client is not reading (more than \(maxQueuedBytes) bytes of answers queued)")
            return false
        case .failed:
            abort("cannot write to the client")
            return false
        }
    }

    /// One non-blocking send: the bytes taken (0 when the socket buffer is full), or nil when
    /// the connection failed.
    static func sendNow(_ fd: Int32, _ bytes: [UInt8]) -> Int? {
        while true {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) }
            if n >= 0 { return n }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : nil
        }
    }

    func threadFinished() {
        let closedNow = state.withLock { s -> Bool in
            s.threadsRunning -= 1
            guard s.threadsRunning == 0 && !s.fdClosed else { return false }
            s.fdClosed = true
            Glibc.close(fd)
            return true
        }
        if closedNow { onClosed() }
    }

    // MARK: - Threads

    func writeLoop() {
        defer { threadFinished() }
        while true {
            wake.wait()
            let (frames, stop) = state.withLock { s -> ([[UInt8]], Bool) in
                if s.aborted { return ([], true) }
                let taken = s.queue
                s.queue.removeAll()
                s.writing = !taken.isEmpty
                return (taken, s.closed)
            }
            for f in frames {
                guard SocketIO.writeAll(fd, f) else {
                    abort("cannot write to the client")
                    return
                }
                state.withLock { $0.queuedBytes -= f.count }
            }
            // Senders may write directly again once nothing of ours is in flight.
            state.withLock { $0.writing = false }
            if stop {
                // Nothing can be queued after `closed`, so the close frame was the last one
                // out: closing the TCP connection is now the server's part (RFC 6455 §7.1.1),
                // and the reader sees its end of input.
                state.withLock { s in if !s.fdClosed { shutdown(fd, Int32(SHUT_RDWR)) } }
                return
            }
        }
    }

    /// Reads frames on a thread of its own and hands each text message to `deliver`, then
    /// `nil` once when the client has closed or gone.
    package func startReading(_ deliver: @escaping @Sendable ([MessageFramer.Event]?) -> Void) {
        let reader = Thread { [self] in
            readLoop(deliver)
            state.withLock { $0.inputEnded = true }
            // Without a close frame of either side, the client went away: stop the writer too.
            if !isClosed { abort("connection closed by the client") }
            deliver(nil)
            threadFinished()
        }
        reader.name = "segslim.ws-reader"
        reader.stackSize = 1 << 20
        reader.start()
    }

    func readLoop(_ deliver: @Sendable ([MessageFramer.Event]?) -> Void) {
        var decoder = WebSocketReader(maxMessageBytes: maxMessageBytes)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var chunk = leftover
        while true {
            var messages: [MessageFramer.Event] = []
            for event in decoder.feed(chunk) {
                switch event {
                case .text(let body): messages.append(.message(body))
                case .binary:
                    closeWith(WebSocketCloseCode.unsupportedData.rawValue, reason: "send JSON-RPC messages as text frames")
                case .ping(let payload): _ = enqueue(WebSocketFrame.encode(.pong, payload), data: false)
                case .pong: break
                case .close(let code, _):
                    closeWith(code ?? WebSocketCloseCode.normal.rawValue, reason: "")
                case .failure(let code, let why):
                    log("\(label): \(why)")
                    closeWith(code.rawValue, reason: why)
                }
            }
            if !messages.isEmpty { deliver(messages) }
            if decoder.isFinished || isClosed { return }
            guard let n = SocketIO.read(fd, into: &buffer) else { return }
            chunk = Array(buffer[0..<n])
        }
    }
}
