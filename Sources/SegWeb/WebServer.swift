import Foundation
import Synchronization

/// `segslimd --listen http://127.0.0.1:PORT`: the web app's files over HTTP/1.1 and the
/// JSON-RPC connection over a WebSocket at `/rpc`, on a loopback port, behind a token.
///
/// One thread per TCP connection: it reads HTTP requests (keep-alive), answers static files
/// and refusals, and on a good upgrade hands the socket to a `WebSocketSession`, which the
/// caller plugs into the server like any other connection. A connection that sends nothing
/// for `idleTimeoutSeconds` before its upgrade is closed, and at most `maxConnections` are
/// open at once, so idle sockets cannot pile up threads.
package final class WebServer: Sendable {
    package struct Configuration: Sendable {
        package var host = "127.0.0.1"
        package var port: UInt16 = 0
        package var allowRemote = false
        package var token = WebAccessPolicy.randomToken()
        /// `--allow-host` names, accepted in Host and Origin besides the loopback names.
        package var extraHosts: [String] = []
        /// The web app's folder; nil serves only `/rpc` (and 404 for everything else).
        package var webRoot: String? = nil
        /// Largest JSON-RPC message a client may send in one WebSocket message.
        package var maxMessageBytes = 64 << 20
        /// Outgoing bytes one session may have waiting before it is dropped as not reading.
        package var maxQueuedBytes = 64 << 20
        package var limits = HTTPRequestParser.Limits()
        package var idleTimeoutSeconds: Double = 30
        /// A peer that takes none of our bytes for this long is gone.
        package var sendTimeoutSeconds: Double = 60
        package var maxConnections = 256
        /// The kernel's send buffer for each connection (tests shrink it); nil leaves it be.
        package var socketSendBufferBytes: Int32? = nil
        package var log: @Sendable (String) -> Void = { _ in }
        package init() {}
    }

    package let configuration: Configuration
    package let port: UInt16
    let listenFD: Int32
    let policy: WebAccessPolicy
    let files: StaticFiles?
    let open = Mutex(0)

    /// Binds the port; serving starts with `start`.
    package init(_ configuration: Configuration) throws(TCPListener.Failure) {
        let (fd, port) = try TCPListener.listen(host: configuration.host, port: configuration.port, allowRemote: configuration.allowRemote)
        self.configuration = configuration
        self.listenFD = fd
        self.port = port
        self.policy = WebAccessPolicy(token: configuration.token, port: port, extraHosts: configuration.extraHosts)
        self.files = configuration.webRoot.flatMap { StaticFiles(root: $0) }
    }

    /// Where a browser opens the app, token included (the line `segslimd` prints).
    package var url: String {
        let host = configuration.host == "localhost" ? "127.0.0.1" : configuration.host
        return "http://\(host):\(port)/?token=\(configuration.token)"
    }

    /// Accepts on its own thread; each upgraded WebSocket goes to `onSession`.
    package func start(onSession: @escaping @Sendable (WebSocketSession) -> Void) {
        let thread = Thread { [self] in
            while true {
                let client = accept(listenFD, nil, nil)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE { continue }
                    break
                }
                let admitted = open.withLock { n -> Bool in
                    guard n < configuration.maxConnections else { return false }
                    n += 1
                    return true
                }
                guard admitted else {
                    Glibc.close(client)
                    continue
                }
                let worker = Thread { [self] in
                    // An upgraded connection stays counted until its session has closed.
                    if !serve(client, onSession: onSession) { open.withLock { $0 -= 1 } }
                }
                worker.name = "segslim.http"
                worker.stackSize = 1 << 19
                worker.start()
            }
        }
        thread.name = "segslim.http-accept"
        thread.start()
    }

    /// Connections open now: HTTP ones and WebSocket sessions not yet closed.
    package var openConnections: Int { open.withLock { $0 } }

    /// Stops accepting (tests); open sessions go on.
    package func stop() {
        shutdown(listenFD, Int32(SHUT_RDWR))
        Glibc.close(listenFD)
    }

    /// Serves one TCP connection until it closes or fails (false), or becomes a WebSocket
    /// session (true).
    func serve(_ fd: Int32, onSession: @Sendable (WebSocketSession) -> Void) -> Bool {
        SocketIO.setTimeout(fd, SO_RCVTIMEO, seconds: configuration.idleTimeoutSeconds)
        SocketIO.setTimeout(fd, SO_SNDTIMEO, seconds: configuration.sendTimeoutSeconds)
        // Every write is a whole answer or frame: nothing is gained by Nagle's waiting for an
        // ACK before the tail of a large answer goes out, only latency.
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if var size = configuration.socketSendBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var parser = HTTPRequestParser(limits: configuration.limits)
        var buffer = [UInt8](repeating: 0, count: 1 << 14)
        // A request must be complete within twice the idle time-out of its first byte, so a
        // client trickling a byte at a time cannot hold its thread for long.
        var deadline = Date().addingTimeInterval(2 * configuration.idleTimeoutSeconds)
        while true {
            let request: HTTPRequest?
            do {
                request = try parser.next()
            } catch {
                configuration.log("http: \(error)")
                _ = SocketIO.writeAll(fd, HTTPResponse.bare(error.status.code, error.status.reason).serialized())
                break
            }
            guard let request else {
                guard Date() < deadline else {
                    _ = SocketIO.writeAll(fd, HTTPResponse.bare(408, "Request Timeout").serialized())
                    break
                }
                guard let n = SocketIO.read(fd, into: &buffer) else { break }
                if !parser.isMidRequest { deadline = Date().addingTimeInterval(2 * configuration.idleTimeoutSeconds) }
                parser.feed(buffer[0..<n])
                continue
            }
            switch respond(to: request) {
            case .reply(let response, let keepOpen):
                guard SocketIO.writeAll(fd, response.serialized(includeBody: request.method != "HEAD")) else { break }
                if keepOpen && request.keepAlive { continue }
            case .upgrade(let response):
                guard SocketIO.writeAll(fd, response.serialized()) else { break }
                SocketIO.setTimeout(fd, SO_RCVTIMEO, seconds: 0)   // an idle WebSocket is fine
                let session = WebSocketSession(fd: fd, label: "websocket fd \(fd)", leftover: parser.takeRemaining(),
                                               maxMessageBytes: configuration.maxMessageBytes,
                                               maxQueuedBytes: configuration.maxQueuedBytes, log: configuration.log,
                                               onClosed: { [self] in open.withLock { $0 -= 1 } })
                onSession(session)
                return true
            }
            // (A `break` inside the switch only leaves the switch; this one ends the loop.)
            break
        }
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
        return false
    }
}
