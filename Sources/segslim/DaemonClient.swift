import Foundation
import SegProtocol
import SegTransport

/// The CLI's side of the wire: a daemon it spawned on stdio, or one it reached on a socket.
/// Requests are sent one at a time; `$/progress` notifications go to a callback.
final class DaemonClient {
    /// Anything that means the daemon broke its side of the protocol (exit code 3).
    struct Broken: Error, CustomStringConvertible {
        var description: String
    }

    let readFD: Int32
    let writeFD: Int32
    let process: Process?
    /// The pipe ends of a spawned daemon: they own `readFD`/`writeFD`, so closing goes through
    /// them (closing the raw descriptor as well would close a reused number twice).
    var pipes: (toDaemon: FileHandle, fromDaemon: FileHandle)?
    var framer = MessageFramer(framing: .contentLength)
    var pending: [JSONValue] = []
    var nextID: Int64 = 1
    var onProgress: (JSONValue) -> Void = { _ in }
    /// What SIGINT/SIGTERM do while a request runs (set up once the daemon is reachable).
    var interruption: Interruption

    /// Starts the `segslimd` that sits beside this executable (or `$SEGSLIMD`).
    static func spawn() throws -> DaemonClient {
        let daemonPath = ProcessInfo.processInfo.environment["SEGSLIMD"] ?? {
            let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("segslimd").path
        }()
        guard FileManager.default.isExecutableFile(atPath: daemonPath) else {
            throw Broken(description: "cannot find the daemon at \(daemonPath) (build it with `swift build`, or set SEGSLIMD)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: daemonPath)
        process.arguments = ["--log-level", ProcessInfo.processInfo.environment["SEGSLIM_LOG_LEVEL"] ?? "error"]
        let toDaemon = Pipe()
        let fromDaemon = Pipe()
        process.standardInput = toDaemon
        process.standardOutput = fromDaemon
        process.standardError = FileHandle.standardError
        try process.run()
        let pipes = (toDaemon: toDaemon.fileHandleForWriting, fromDaemon: fromDaemon.fileHandleForReading)
        let client = DaemonClient(readFD: fromDaemon.fileHandleForReading.fileDescriptor,
                                  writeFD: toDaemon.fileHandleForWriting.fileDescriptor, process: process,
                                  closeConnection: {
                                      try? pipes.toDaemon.close()
                                      try? pipes.fromDaemon.close()
                                  })
        client.pipes = pipes
        // Our copies of the child's ends must go, or the daemon never sees end of input.
        try? toDaemon.fileHandleForReading.close()
        try? fromDaemon.fileHandleForWriting.close()
        return client
    }

    /// Another daemon started the same way as `client` (for per-model measurements).
    static func fresh(like client: DaemonClient) throws -> DaemonClient {
        try spawn()
    }

    static func connect(address: String) throws -> DaemonClient {
        let fd = try UnixSocket.connect(path: UnixSocket.path(fromAddress: address))
        // Shut down rather than closed: the daemon sees its client go, and the number is not
        // freed for reuse while the main thread may still read it.
        return DaemonClient(readFD: fd, writeFD: fd, process: nil, closeConnection: { shutdown(fd, Int32(SHUT_RDWR)) })
    }

    init(readFD: Int32, writeFD: Int32, process: Process?, closeConnection: @escaping @Sendable () -> Void) {
        self.readFD = readFD
        self.writeFD = writeFD
        self.process = process
        self.interruption = Interruption(writeFD: writeFD, process: process, closeConnection: closeConnection)
        interruption.install()
    }

    func send(_ message: Message) throws {
        let bytes = MessageWriter.frame(message.json.serialized(), framing: .contentLength)
        if !interruption.write(bytes) { throw Broken(description: "the daemon closed its input (\(String(cString: strerror(errno))))") }
    }

    static func writeAll(fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return true }
            var off = 0
            while off < raw.count {
                let n = write(fd, base + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
    }

    /// Sends a request and waits for its answer.
    /// `keepsAnswer`: the request answers a cancel with a result (the best so far) that the
    /// command reports before exiting.
    func request(_ method: String, _ params: JSONValue? = nil, keepsAnswer: Bool = false) throws -> Result<JSONValue, ResponseError> {
        let id = RequestID.int(nextID)
        nextID += 1
        interruption.started(id, keepsAnswer: keepsAnswer)
        defer { interruption.finished() }
        try send(.request(id: id, method: method, params: params))
        while true {
            let json = try nextMessage()
            switch Message(json: json) {
            case .response(let rid, let result) where rid == id:
                return result
            case .notification(ProgressNotification.method, let p?):
                onProgress(p)
            case .notification:
                continue
            default:
                throw Broken(description: "unexpected message from the daemon: \(json.jsonString.prefix(200))")
            }
        }
    }

    /// A typed request: params encoded and the result decoded through the method's message
    /// types. With `progress`, the request asks for `$/progress` and the notifications go there.
    func send<R: RPCRequest>(_ type: R.Type, _ params: R.Params, progress: ((JSONValue) -> Void)? = nil, keepsAnswer: Bool = false) throws -> R.Result {
        var json = try R.encodeParams(params)
        if let progress, case .object(var o) = json {
            o["workDoneToken"] = "cli"
            json = .object(o)
            onProgress = progress
        }
        let raw = try request(R.method, json, keepsAnswer: keepsAnswer).value()
        do { return try R.decodeResult(raw) } catch {
            throw Broken(description: "the daemon's \(R.method) result does not match its type: \(error.message)")
        }
    }

    func notify(_ method: String, _ params: JSONValue? = nil) throws {
        try send(.notification(method: method, params: params))
    }

    func nextMessage() throws -> JSONValue {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while pending.isEmpty {
            let n = buffer.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw Broken(description: "the daemon closed the connection unexpectedly") }
            for event in framer.feed(buffer[0..<n]) {
                switch event {
                case .message(let body):
                    do { pending.append(try JSONParser.parse(body)) } catch {
                        throw Broken(description: "the daemon sent invalid JSON: \(error)")
                    }
                case .error(let e):
                    throw Broken(description: "the daemon broke the framing: \(e)")
                }
            }
        }
        return pending.removeFirst()
    }

    /// Polite goodbye: `shutdown`, `exit`, and wait for a spawned daemon to end.
    func close() {
        _ = try? request(ShutdownRequest.method)
        try? notify(ExitNotification.method)
        if let process, let pipes {
            try? pipes.toDaemon.close()
            process.waitUntilExit()
            try? pipes.fromDaemon.close()
        } else {
            Glibc.close(readFD)
        }
    }
}
