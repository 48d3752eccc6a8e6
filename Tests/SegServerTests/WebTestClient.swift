import Foundation
import SegProtocol
import SegServer
import SegTransport
import SegWeb
import Testing

/// An in-process daemon behind `WebServer`, wired to `Connection` as segslimd's main does.
struct WebDaemon {
    let server: WebServer
    let core: ServerCore
    let root: String
    var port: UInt16 { server.port }
    var token: String { server.configuration.token }

    init(_ configure: (inout WebServer.Configuration) -> Void = { _ in }) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("segslim-web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Data("<!doctype html><title>segslim</title><script src=app.js></script>\n".utf8).write(to: root.appendingPathComponent("index.html"))
        try Data("console.log('segslim')\n".utf8).write(to: root.appendingPathComponent("app.js"))
        try Data("secret\n".utf8).write(to: root.deletingLastPathComponent().appendingPathComponent("segslim-web-secret.txt"))
        var configuration = WebServer.Configuration()
        configuration.webRoot = root.path
        configure(&configuration)
        let core = ServerCore(configuration: .init(enableDebugMethods: true))
        let server = try WebServer(configuration)
        server.start { session in
            Task {
                _ = await Connection(core: core, label: session.label, sink: session, source: session.startReading).run()
                session.close()
            }
        }
        self.server = server
        self.core = core
        self.root = root.path
    }
}

enum WebTestError: Error, Equatable { case connect(Int32), closed, timeout, handshake(String) }

/// A TCP connection to 127.0.0.1:port with a receive time-out, so a hung server fails the
/// test instead of hanging it.
/// The receive time-out is generous on purpose: in a full parallel test run on two cores, other
/// suites' synchronous work can hold the cooperative threads the in-process server's connection
/// tasks need for a minute or more; a time-out here means a hung server, not a slow machine.
func connectTCP(port: UInt16, receiveBuffer: Int32? = nil, timeout: Double = 600) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw WebTestError.connect(errno) }
    if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
    var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { let e = errno; close(fd); throw WebTestError.connect(e) }
    return fd
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { return }
        offset += n
    }
}

/// One HTTP exchange on a fresh connection: the request as given, the answer read to EOF.
struct HTTPAnswer {
    var status: Int
    var head: String
    var body: [UInt8]
    func header(_ name: String) -> String? {
        head.split(separator: "\r\n").dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
            .map { String($0.drop { $0 != ":" }.dropFirst()).trimmingCharacters(in: .whitespaces) }
    }
}

func httpExchange(port: UInt16, _ request: String) throws -> HTTPAnswer {
    let fd = try connectTCP(port: port)
    defer { close(fd) }
    writeAll(fd, Array(request.utf8))
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        data += buffer[0..<n]
    }
    guard let end = data.indices.first(where: { data[$0...].starts(with: Array("\r\n\r\n".utf8)) }) else { throw WebTestError.closed }
    let head = String(decoding: data[0..<end], as: UTF8.self)
    let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
    return HTTPAnswer(status: status, head: head, body: Array(data[(end + 4)...]))
}

/// A WebSocket client on a raw socket: masked frames out, frames in through `WebSocketReader`.
final class WebSocketTestClient {
    let fd: Int32
    var reader = WebSocketReader(maxMessageBytes: 1 << 28, expectMasked: false)
    var events: [WebSocketReader.Event] = []
    var nextMask: UInt8 = 1

    /// Connects and upgrades at `target`; throws `.handshake` with the answer's head when refused.
    init(port: UInt16, target: String, extraHeaders: String = "", receiveBuffer: Int32? = nil) throws {
        fd = try connectTCP(port: port, receiveBuffer: receiveBuffer)
        let key = Data((0..<16).map { UInt8($0 * 7 + 3) }).base64EncodedString()
        writeAll(fd, Array(("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\(extraHeaders)\r\n").utf8))
        var data: [UInt8] = []
        var byte = [UInt8](repeating: 0, count: 1)
        while !data.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)) {
            let n = byte.withUnsafeMutableBytes { read(fd, $0.baseAddress, 1) }
            // (No close here: a class whose init throws once its properties are set still runs
            // deinit, which closes `fd`; closing twice could close a descriptor reused meanwhile.)
            guard n == 1 else { throw WebTestError.handshake(String(decoding: data, as: UTF8.self)) }
            data += byte
        }
        let head = String(decoding: data, as: UTF8.self)
        guard head.hasPrefix("HTTP/1.1 101 "), head.contains("Sec-WebSocket-Accept: \(WebSocketFrame.acceptValue(forKey: key))\r\n") else {
            throw WebTestError.handshake(head)
        }
    }

    static func rpc(_ daemon: WebDaemon, receiveBuffer: Int32? = nil) throws -> WebSocketTestClient {
        try WebSocketTestClient(port: daemon.port, target: "/rpc?token=\(daemon.token)",
                                extraHeaders: "Origin: http://127.0.0.1:\(daemon.port)\r\n", receiveBuffer: receiveBuffer)
    }

    deinit { close(fd) }

    func sendFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) {
        nextMask &+= 1
        writeAll(fd, WebSocketFrame.encode(opcode, payload, fin: fin, mask: [nextMask, 0x5A, 0xA5, nextMask &* 3]))
    }

    func sendText(_ text: String) { sendFrame(.text, Array(text.utf8)) }

    /// The next frame-level event (pings and pongs included); throws when the server closed
    /// the TCP connection without one.
    func nextEvent() throws -> WebSocketReader.Event {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while events.isEmpty {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EAGAIN { throw WebTestError.timeout }
            guard n > 0 else { throw WebTestError.closed }
            events += reader.feed(buffer[0..<n])
        }
        return events.removeFirst()
    }

    /// The next JSON-RPC message.
    func receive() throws -> JSONValue {
        while true {
            switch try nextEvent() {
            case .text(let body): return try JSONParser.parse(body)
            case .ping, .pong: continue
            case let other:
                Issue.record("expected a text frame, got \(other)")
                throw WebTestError.closed
            }
        }
    }

    func call(_ id: Int64, _ method: String, _ params: JSONValue? = nil) throws -> JSONValue {
        var m: [String: JSONValue] = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
        if let params { m["params"] = params }
        sendText(JSONValue.object(m).jsonString)
        while true {
            let r = try receive()
            if r["id"] == .int(id) && r["method"] == nil { return r }
        }
    }

    /// Reads until the server's close frame; returns its code.
    func closeCode() throws -> UInt16? {
        while true {
            if case .close(let code, _) = try nextEvent() { return code }
        }
    }
}

extension WebSocketTestClient: @unchecked Sendable {}

/// Runs blocking socket work on a thread of its own: the in-process server's tasks need the
/// cooperative pool (two threads on a 2-core machine), so tests must not block it.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}

/// Polls `condition` every 20 ms for at most `seconds`; false when it never held.
func eventuallyTrue(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return try condition()
}
