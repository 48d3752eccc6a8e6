import Foundation
import SegProtocol
import SegServer
import SegTransport
import SegWeb

// segslimd: the SegSlim daemon. JSON-RPC 2.0 on stdin/stdout (or a Unix socket), logs on stderr.

let usage = """
    usage: segslimd [--listen unix:PATH | --listen http://127.0.0.1:PORT] [--log-level error|warn|info|debug]
                    [--max-message-bytes N] [--memory-budget BYTES] [--max-request-memory BYTES]
                    [--enable-debug-methods]
                    [--web-root DIR] [--token TOKEN] [--allow-host NAME]... [--allow-remote]
                    [--max-frame-bytes N]
                    [--version] [--help]

    Speaks JSON-RPC 2.0 on stdin/stdout, framed like LSP (Content-Length) or as newline-delimited
    JSON (chosen by the first byte). With --listen, serves many clients instead of stdio (stdin is
    not read); --listen may be given twice, once for each kind, and both share one daemon:
      unix:PATH                  a Unix socket (created 0600)
      http://127.0.0.1:PORT      the browser app over HTTP/1.1 and the same JSON-RPC messages over a
                                 WebSocket at ws://127.0.0.1:PORT/rpc, one message per text frame.
                                 PORT 0 picks a free port. Once listening, one line goes to stderr:
                                   segslimd: serving http://127.0.0.1:PORT/?token=TOKEN
                                 Every request needs the token (?token=, the cookie the first good
                                 request sets, or Authorization: Bearer), Host must name this server
                                 and Origin, when sent, must be its own; otherwise 403.
    Web options:
      --web-root DIR             the app's folder; else $SEGSLIM_WEB_ROOT, else ./clients/web, else
                                 clients/web beside the Package.swift above the executable
      --token TOKEN              the token to require (else $SEGSLIM_TOKEN, else 32 random bytes as hex)
      --allow-host NAME          also accept Host/Origin NAME (a proxy or a remote name); repeatable
      --allow-remote             allow a non-loopback listening address (off: refused)
      --max-frame-bytes N        largest WebSocket message a client may send (default 64 MiB;
                                 never more than --max-message-bytes)
    The protocol is described in protocol/README.md.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("segslimd: \(message)\n\(usage)\n".utf8))
    exit(2)
}

// A warm daemon allocates the same large buffers on every request (a model's 7 MB output, the
// input planes, PNG rows). By default glibc serves those from fresh mmaps and unmaps them on
// free, so every request page-faults and zero-fills them again (~1 ms per CamVid segment).
// Served from the heap up to 32 MiB, they are reused; free memory above 128 MiB at the top of
// the heap still goes back to the system.
// `mallopt` is not in Swift's Glibc module (malloc.h is not part of it): looked up by name.
if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") {
    typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
    let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
    let mmapThreshold: Int32 = -3, trimThreshold: Int32 = -1   // M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
    _ = mallopt(mmapThreshold, 32 << 20)
    _ = mallopt(trimThreshold, 128 << 20)
}

var configuration = ServerConfiguration()
var unixAddress: String? = nil
var webConfiguration = WebServer.Configuration()
var httpAddress: String? = nil
var webRootFlag: String? = nil
var tokenFlag: String? = nil
var maxFrameBytes: Int? = nil
var arguments = CommandLine.arguments.dropFirst()
Log.level = .warning
while let arg = arguments.popFirst() {
    func value() -> String {
        guard let v = arguments.popFirst() else { fail("\(arg) needs a value") }
        return v
    }
    switch arg {
    case "--listen":
        let v = value()
        if v.lowercased().hasPrefix("http://") {
            guard httpAddress == nil else { fail("--listen http:// given twice") }
            httpAddress = v
        } else if v.lowercased().hasPrefix("https://") {
            fail("--listen \(v): TLS is not served; put a TLS proxy in front of http://127.0.0.1:PORT")
        } else {
            guard unixAddress == nil else { fail("--listen unix: given twice") }
            unixAddress = v
        }
    case "--web-root": webRootFlag = value()
    case "--token": tokenFlag = value()
    case "--allow-host": webConfiguration.extraHosts.append(value())
    case "--allow-remote": webConfiguration.allowRemote = true
    case "--max-frame-bytes":
        let v = value()
        guard let n = Int(v), n > 0 else { fail("--max-frame-bytes must be a positive integer, got '\(v)'") }
        maxFrameBytes = n
    case "--log-level":
        let v = value()
        guard let level = Log.Level(name: v) else { fail("unknown log level '\(v)'") }
        Log.level = level
    case "--max-message-bytes":
        let v = value()
        guard let n = Int(v), n > 0 else { fail("--max-message-bytes must be a positive integer, got '\(v)'") }
        configuration.maxMessageBytes = n
    case "--memory-budget", "--memory-budget-bytes":
        let v = value()
        guard let n = Int64(v), n > 0 else { fail("--memory-budget-bytes must be a positive integer, got '\(v)'") }
        configuration.memoryBudgetBytes = n
    case "--max-request-memory":
        let v = value()
        guard let n = Int64(v), n > 0 else { fail("--max-request-memory must be a positive integer, got '\(v)'") }
        configuration.maxRequestBytes = n
    case "--enable-debug-methods": configuration.enableDebugMethods = true
    case "--version":
        print("segslimd \(SegSlimVersion.current)")
        exit(0)
    case "--help", "-h":
        print(usage)
        exit(0)
    default: fail("unknown argument '\(arg)'")
    }
}

// A peer that disappears must not kill the daemon: writes then fail with EPIPE instead.
signal(SIGPIPE, SIG_IGN)

let core = ServerCore(configuration: configuration)

/// The listening socket's path for the signal handlers (set once, before they are installed).
nonisolated(unsafe) var socketPathForSignals: UnsafeMutablePointer<CChar>? = nil

/// Serves one client until it exits or goes away.
func serve(_ connection: Connection, then cleanUp: @escaping @Sendable () -> Void) {
    Task {
        _ = await connection.run()
        cleanUp()
    }
}

if unixAddress == nil && httpAddress == nil {
    // Protocol bytes get a private copy of fd 1; fd 1 itself now points at stderr, so a stray
    // `print` anywhere in the process lands in the log instead of corrupting the stream.
    let protocolFD = dup(STDOUT_FILENO)
    guard protocolFD >= 0, dup2(STDERR_FILENO, STDOUT_FILENO) >= 0 else { fail("cannot set up stdout") }
    Task {
        let connection = Connection(core: core, inputFD: STDIN_FILENO, outputFD: protocolFD)
        switch await connection.run() {
        case .exit(let code): exit(code)
        case .endOfInput: exit(0)
        }
    }
    dispatchMain()
}

// Listening: nothing of the protocol goes to stdout, and a stray `print` must not either.
_ = dup2(STDERR_FILENO, STDOUT_FILENO)

if let httpAddress {
    let (host, port): (String, UInt16)
    do {
        (host, port) = try TCPListener.parse(httpAddress)
        webConfiguration.webRoot = try WebRoot.locate(flag: webRootFlag)
    } catch {
        fail("\(error)")
    }
    webConfiguration.host = host
    webConfiguration.port = port
    if let token = tokenFlag ?? ProcessInfo.processInfo.environment["SEGSLIM_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 }) {
        guard token.count >= 16, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: ",") }) else {
            fail("--token (or SEGSLIM_TOKEN) must be at least 16 printable characters without spaces, ';' or ','")
        }
        webConfiguration.token = token
    }
    webConfiguration.maxMessageBytes = min(maxFrameBytes ?? 64 << 20, configuration.maxMessageBytes)
    webConfiguration.log = { Log.info($0) }
    let web: WebServer
    do {
        web = try WebServer(webConfiguration)
    } catch {
        FileHandle.standardError.write(Data("segslimd: \(error)\n".utf8))
        exit(1)
    }
    web.start { session in
        let connection = Connection(core: core, label: session.label, sink: session, source: session.startReading)
        serve(connection) { session.close() }
    }
    FileHandle.standardError.write(Data("segslimd: serving \(web.url)\n".utf8))
    if webConfiguration.webRoot == nil {
        Log.warning("no web app folder found (--web-root, SEGSLIM_WEB_ROOT, ./clients/web): serving /rpc only")
    }
    if unixAddress == nil {
        for sig in [SIGINT, SIGTERM] { signal(sig) { _ in _exit(0) } }
    }
}

if let unixAddress {
    let path = UnixSocket.path(fromAddress: unixAddress)
    // Remove the socket file on the way out so the next daemon finds no stale socket. The
    // handlers are plain signal handlers installed before the socket file exists: a client
    // that sees the file and signals at once must find them in place. (A DispatchSource
    // registers asynchronously on libdispatch's manager thread; with the signal ignored until
    // then, a SIGINT in that window was lost and the daemon never exited.) They do only what
    // is async-signal-safe: unlink and _exit.
    socketPathForSignals = strdup(path)
    for sig in [SIGINT, SIGTERM] {
        signal(sig) { _ in
            if let p = socketPathForSignals { unlink(p) }
            _exit(0)
        }
    }
    let fd: Int32
    do {
        fd = try UnixSocket.listen(path: path)
    } catch {
        FileHandle.standardError.write(Data("segslimd: \(error)\n".utf8))
        exit(1)
    }
    Log.info("listening on unix:\(path)")
    UnixSocket.acceptLoop(fd: fd) { client in
        serve(Connection(core: core, inputFD: client, outputFD: client, label: "client fd \(client)")) { close(client) }
    }
}
dispatchMain()
