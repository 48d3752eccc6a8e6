import Foundation
import SegProtocol
import SegTransport
import SegTestSupport
import Testing

/// A client that goes away stops its work: the daemon cancels that connection's requests and
/// stops counting it, and the CLI, interrupted, cancels its request and takes its daemon down.
/// Every wait here is bounded, and the work it waits out (a 10-minute sleep, a compress of a
/// large dataset) far outlasts the bound: on the old behaviour the waits time out.
@Suite(.requires(Binaries.requirement), .serialized)
struct ClientGoneTests {
    let daemon = Binaries.daemon ?? ""
    let cli = Binaries.cli ?? ""

    /// Polls `condition` every 20 ms for at most `seconds`; false when it never held.
    func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return try condition()
    }

    @Test func socketClientsThatCloseAreCancelledAndNoLongerCounted() throws {
        let path = "/tmp/segslim-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let listener = try SocketAndCLITests().startListener(path)
        defer { listener.terminate(); listener.waitUntilExit() }
        var gone: [SocketClient] = []
        for i in 0..<4 {
            let c = try SocketClient(path: path)
            _ = try c.call(1, "initialize")
            c.send(#"{"jsonrpc":"2.0","id":2,"method":"debug/sleep","params":{"durationMs":600000,"workDoneToken":"s\#(i)"}}"#)
            #expect(try c.receive()["params"]?["value"]?["kind"] == "begin")
            gone.append(c)
        }
        let watcher = try SocketClient(path: path)
        _ = try watcher.call(1, "initialize")
        let before = try watcher.call(2, "server/status")["result"]
        #expect(before?["connections"] == 5)
        #expect(before?["requestsInFlight"] == 5)  // four sleeps and this status
        for c in gone { shutdown(c.fd, Int32(SHUT_RDWR)) }
        var id = 3
        var last: JSONValue? = nil
        let settled = try eventually(60) {
            id += 1
            last = try watcher.call(id, "server/status")["result"]
            return last?["connections"] == 1 && last?["requestsInFlight"] == 1
        }
        #expect(settled, "after 4 of 5 clients closed: \(String(describing: last))")
    }

    /// `segslimd` on stdio whose client closes both pipes mid-request (a killed client) exits.
    /// A client that only closes stdin still reads its answers (LifecycleTests).
    /// The same with a `shutdown` already sent (waiting for the sleep to finish): a client gone
    /// while the daemon drains for `shutdown` is still gone.
    @Test(arguments: [false, true])
    func stdioDaemonWhoseClientGoesAwayExits(afterShutdown: Bool) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: daemon)
        p.arguments = ["--enable-debug-methods"]
        let toDaemon = Pipe(), fromDaemon = Pipe()
        p.standardInput = toDaemon
        p.standardOutput = fromDaemon
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() }; p.waitUntilExit() }
        let lines = [
            #"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#,
            #"{"jsonrpc":"2.0","id":2,"method":"debug/sleep","params":{"durationMs":600000,"workDoneToken":"t"}}"#,
        ]
        toDaemon.fileHandleForWriting.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        var received = Data()
        let begun = eventually(60) {
            received += fromDaemon.fileHandleForReading.availableData
            return String(decoding: received, as: UTF8.self).contains(#""kind":"begin""#)
        }
        #expect(begun)
        if afterShutdown { toDaemon.fileHandleForWriting.write(Data((#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"# + "\n").utf8)) }
        try toDaemon.fileHandleForWriting.close()
        try fromDaemon.fileHandleForReading.close()
        #expect(eventually(60) { !p.isRunning }, "segslimd kept running its request for a client that is gone")
        if !p.isRunning { #expect(p.terminationReason == .exit && p.terminationStatus == 0) }
    }

    /// A cancel is not an error: the daemon's log (at its default level, warnings and errors)
    /// stays silent about it, even when it surfaces from the runtime.
    @Test func aCancelledRequestIsNotLoggedAsAnError() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: daemon)
        let toDaemon = Pipe(), fromDaemon = Pipe(), log = Pipe()
        p.standardInput = toDaemon
        p.standardOutput = fromDaemon
        p.standardError = log
        try p.run()
        defer { if p.isRunning { p.terminate() }; p.waitUntilExit() }
        let model = ModelMethodTests.fixture("tiny_conv_seg.onnx")
        let lines = [
            #"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#,
            #"{"jsonrpc":"2.0","id":2,"method":"model/load","params":{"path":"\#(model)","id":"m"}}"#,
            #"{"jsonrpc":"2.0","id":3,"method":"model/benchmark","params":{"id":"m","runs":100000,"warmup":0,"inputShape":[1,3,480,480],"workDoneToken":"b"}}"#,
        ]
        toDaemon.fileHandleForWriting.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        var received = Data()
        #expect(eventually(60) {
            received += fromDaemon.fileHandleForReading.availableData
            return String(decoding: received, as: UTF8.self).contains(#""kind":"report""#)
        })
        toDaemon.fileHandleForWriting.write(Data((#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":3}}"# + "\n").utf8))
        #expect(eventually(60) {
            received += fromDaemon.fileHandleForReading.availableData
            return String(decoding: received, as: UTF8.self).contains(#""id":3"#)
        })
        let answer = ndjsonMessages(Array(received)).first { $0["id"] == 3 }
        #expect(answer?.errorCode == -32800, "\(String(describing: answer))")
        try toDaemon.fileHandleForWriting.close()
        let stderr = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(!stderr.contains("error:"), "the cancel was logged: \(stderr)")
    }

    /// The processes whose parent is `pid` (Linux /proc).
    func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }
    }

    /// CPU time a process has used, in clock ticks (utime + stime), or nil once it is gone.
    func cpuTicks(_ pid: Int32) -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let u = Int(fields[11]), let s = Int(fields[12]) else { return nil }
        return u + s
    }

    @Test(arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func interruptedCompressCancelsStopsItsDaemonAndWritesNothing(_ signal: Int32, _ status: Int32) throws {
        let dataset = try CancellationTests.shared.get()
        let out = dataset.appendingPathComponent("q-\(signal)-\(UUID().uuidString).onnx")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: cli)
        p.arguments = ["compress", ModelMethodTests.fixture("tiny_conv_seg.onnx"), "--technique", "quantize",
                       "--dataset", dataset.path, "--calib-count", "8", "--out", out.path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) }; p.waitUntilExit() }
        var daemonPID: Int32? = nil
        // Interrupt once the daemon is well into the work (a second of CPU: past start-up and
        // loading, in calibration), so the cancel has something to stop.
        let busy = eventually(60) {
            daemonPID = daemonPID ?? children(of: p.processIdentifier).first
            return daemonPID.flatMap(cpuTicks).map { $0 >= 100 } ?? false
        }
        let daemon = try #require(daemonPID)
        #expect(busy, "the daemon never got busy")
        kill(p.processIdentifier, signal)
        #expect(eventually(60) { !p.isRunning }, "segslim did not exit after the signal")
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == status)
        // The CLI has reaped its daemon: nothing of it is left (not even a zombie).
        let daemonGone = eventually(60) { cpuTicks(daemon) == nil }
        #expect(daemonGone, "segslimd (pid \(daemon)) outlived the interrupted CLI")
        if !daemonGone { kill(daemon, SIGKILL) }
        #expect(!FileManager.default.fileExists(atPath: out.path))
        #expect(!FileManager.default.fileExists(atPath: out.path + ".report.json"))
    }
}
