import Foundation
import SegProtocol
import SegServer
import SegTransport

// segslimd: the SegSlim daemon. JSON-RPC 2.0 on stdin/stdout (or a Unix socket), logs on stderr.

let usage = """
    usage: segslimd [--listen unix:PATH] [--log-level error|warn|info|debug]
                    [--max-message-bytes N] [--memory-budget BYTES] [--max-request-memory BYTES]
                    [--enable-debug-methods]
                    [--version] [--help]

    Speaks JSON-RPC 2.0 on stdin/stdout, framed like LSP (Content-Length) or as newline-delimited
    JSON (chosen by the first byte). With --listen, serves many clients on a Unix socket instead.
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
var listenAddress: String? = nil
var arguments = CommandLine.arguments.dropFirst()
Log.level = .warning
while let arg = arguments.popFirst() {
    func value() -> String {
        guard let v = arguments.popFirst() else { fail("\(arg) needs a value") }
        return v
    }
    switch arg {
    case "--listen": listenAddress = value()
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

if let listenAddress {
    let path = UnixSocket.path(fromAddress: listenAddress)
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
        Task {
            let connection = Connection(core: core, inputFD: client, outputFD: client, label: "client fd \(client)")
            _ = await connection.run()
            close(client)
        }
    }
    dispatchMain()
} else {
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
