import Foundation
import SegProtocol
import SegTransport
import SegServer
import SegTechnique
import SegTestSupport
import Testing

@Suite(.requires(Binaries.requirement), .serialized)
struct SocketAndCLITests {
    let daemon = Binaries.daemon ?? ""
    let cli = Binaries.cli ?? ""

    func tempSocketPath() -> String {
        "/tmp/segslim-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
    }

    /// Starts `segslimd --listen` and waits for its socket to accept.
    func startListener(_ path: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: daemon)
        p.arguments = ["--listen", "unix:\(path)", "--enable-debug-methods"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let fd = try? UnixSocket.connect(path: path) {
                close(fd)
                return p
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        p.terminate()
        throw UnixSocket.Failure.inUse("listener never came up")
    }

    @Test func socketServesManyClientsSharingOneDaemon() async throws {
        let path = tempSocketPath()
        let daemonProcess = try startListener(path)
        defer { daemonProcess.terminate(); daemonProcess.waitUntilExit() }

        var st = stat()
        #expect(lstat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)

        let a = try SocketClient(path: path), b = try SocketClient(path: path)
        _ = try a.call(1, "initialize")
        _ = try b.call(1, "initialize")  // same id on another connection: independent
        // a starts a slow request; b is served meanwhile; a's request is cancelled by a only.
        a.send(#"{"jsonrpc":"2.0","id":2,"method":"debug/sleep","params":{"durationMs":60000}}"#)
        let status = try b.call(2, "server/status")
        #expect(status["result"]?["connections"] == 2)
        #expect(status["result"]?["pid"]?.intValue == Int64(daemonProcess.processIdentifier))
        a.send(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":2}}"#)
        #expect(try a.receive()["error"]?["code"] == -32800)
        // exit on one connection closes that connection only.
        _ = try a.call(3, "shutdown")
        a.send(#"{"jsonrpc":"2.0","method":"exit"}"#)
        #expect(try b.call(3, "model/list")["result"] == ["models": []])
        #expect(daemonProcess.isRunning)

        // The CLI reuses the warm daemon.
        let out = try runProcess(cli, ["status", "--json", "--connect", "unix:\(path)"])
        #expect(out.status == 0, "\(out.stderr)")
        let json = try JSONParser.parse(out.stdout)
        #expect(json["pid"]?.intValue == Int64(daemonProcess.processIdentifier))
    }

    @Test func liveSocketIsRefusedAndStaleOneReplaced() throws {
        let path = tempSocketPath()
        let first = try startListener(path)
        let second = try runProcess(daemon, ["--listen", "unix:\(path)"], timeout: 20)
        #expect(second.status == 1)
        #expect(second.stderr.contains("already listening"))
        #expect(first.isRunning)
        first.interrupt()
        first.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: path), "SIGINT removes the socket file")

        // A stale socket (bound, nobody listening) is replaced.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(fd)
        #expect(FileManager.default.fileExists(atPath: path))
        let replacement = try startListener(path)
        replacement.terminate()
        replacement.waitUntilExit()

        // A regular file at the path is never replaced.
        FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8))
        defer { unlink(path) }
        let refused = try runProcess(daemon, ["--listen", "unix:\(path)"], timeout: 20)
        #expect(refused.status == 1)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
    }

    @Test func cliCommandsAndExitCodes() throws {
        let status = try runProcess(cli, ["status", "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        let json = try JSONParser.parse(status.stdout)
        #expect(json["version"] == .string(SegSlimVersion.current))
        #expect(json["residentModels"] == [])

        let table = try runProcess(cli, ["status"])
        #expect(table.status == 0)
        #expect(table.stdoutText.contains("version"))

        let techniques = try runProcess(cli, ["techniques", "--json"])
        let listed = try JSONParser.parse(techniques.stdout)["techniques"]?.arrayValue ?? []
        #expect(listed.compactMap { $0["id"]?.stringValue } == TechniqueRegistry.builtIn.ids)
        #expect(listed.allSatisfy { $0["parameters"]?["type"] == "object" })

        let version = try runProcess(cli, ["--version"])
        #expect(version.stdoutText == "segslim \(SegSlimVersion.current)\n")

        let help = try runProcess(cli, ["help", "status"])
        #expect(help.status == 0)
        #expect(help.stdoutText.contains("usage: segslim status"))

        let unknown = try runProcess(cli, ["frobnicate"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown command 'frobnicate'"))

        let extra = try runProcess(cli, ["status", "extra-arg"])
        #expect(extra.status == 2)
        #expect(extra.stderr.contains("usage: segslim status"))

        let noDaemon = try runProcess(cli, ["status", "--connect", "unix:/tmp/segslim-no-such-\(getpid()).sock"])
        #expect(noDaemon.status == 3)

        let brokenDaemon = try runProcess(cli, ["status"], environment: ["SEGSLIMD": "/bin/true"])
        #expect(brokenDaemon.status == 3)
    }
}

/// A blocking socket client for the socket tests.
final class SocketClient {
    let fd: Int32
    var framer = MessageFramer(framing: .contentLength)
    var pending: [JSONValue] = []

    init(path: String) throws { fd = try UnixSocket.connect(path: path) }
    deinit { close(fd) }

    func send(_ text: String) {
        let bytes = MessageWriter.frame(Array(text.utf8), framing: .contentLength)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    func receive() throws -> JSONValue {
        var tv = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 65536)
        while pending.isEmpty {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw UnixSocket.Failure.system("socket", call: "read", errno: errno) }
            for case .message(let body) in framer.feed(buf[0..<n]) { pending.append(try JSONParser.parse(body)) }
        }
        return pending.removeFirst()
    }

    func call(_ id: Int, _ method: String) throws -> JSONValue {
        send(#"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)"}"#)
        while true {
            let m = try receive()
            if m["id"] == .int(Int64(id)) { return m }
        }
    }
}

@Suite(.requires(Binaries.requirement))
struct ModelCLITests {
    let cli = Binaries.cli ?? ""
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    @Test func infoRunAndExport() throws {
        let info = try runProcess(cli, ["info", Self.fixture("relu.onnx"), "--json"])
        #expect(info.status == 0, "\(info.stderr)")
        let json = try JSONParser.parse(info.stdout)
        #expect(json["opCounts"] == ["Relu": 1])

        let out = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-cli-\(UUID().uuidString)/a/b")
        let run = try runProcess(cli, ["run", Self.fixture("relu.onnx"), Self.fixture("relu.input.npy"), "--out", out.path, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let outputs = try JSONParser.parse(run.stdout)["outputs"]?.arrayValue ?? []
        #expect(outputs.count == 1)
        let path = outputs.first?["path"]?.stringValue ?? ""
        #expect(path.hasPrefix("/"))
        #expect(FileManager.default.fileExists(atPath: path))

        let target = out.appendingPathComponent("copy.onnx").path
        #expect(try runProcess(cli, ["export", Self.fixture("relu.onnx"), "--out", target]).status == 0)
        let again = try runProcess(cli, ["export", Self.fixture("relu.onnx"), "--out", target])
        #expect(again.status == 1)
        #expect(again.stderr.contains("exists"))
    }

    @Test func compressWritesModelAndReport() throws {
        let out = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-cli-\(UUID().uuidString)/fused.onnx")
        let r = try runProcess(cli, ["compress", Self.fixture("fusable.onnx"), "--technique", "fuse", "--param", "foldConstants=true", "--out", out.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONParser.parse(r.stdout)
        let after = try #require(json["report"]?["after"]?["opCounts"]?.objectValue, "\(json)")
        #expect(after["Conv"] != nil && after["BatchNormalization"] == nil, "\(after)")
        #expect(FileManager.default.fileExists(atPath: out.path + ".report.json"))
        #expect(try runProcess(cli, ["compress", Self.fixture("fusable.onnx"), "--out", out.path]).status == 2)
        #expect(try runProcess(cli, ["compress", Self.fixture("fusable.onnx"), "--technique", "fuse", "--out", out.path]).status == 1)
    }

    @Test func modelErrorsAreExitOneAndUsageErrorsExitTwo() throws {
        let unsupported = try runProcess(cli, ["info", Self.fixture("unsupported.onnx")])
        #expect(unsupported.status == 1)
        #expect(unsupported.stderr.contains("Frobnicate"))
        let missing = try runProcess(cli, ["info", "/no/such.onnx"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/no/such.onnx"))
        #expect(try runProcess(cli, ["run", Self.fixture("relu.onnx"), Self.fixture("relu.input.npy")]).status == 2)
        #expect(try runProcess(cli, ["info"]).status == 2)
        #expect(try runProcess(cli, ["info", Self.fixture("relu.onnx"), "--bogus"]).status == 2)
    }
}
