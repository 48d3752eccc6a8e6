import Foundation
import SegProtocol
import SegTestSupport
import SegTransport
import Testing

/// The real `segslimd` and `segslim` executables, built beside the test bundle by
/// `swift test` (or named by $SEGSLIMD / $SEGSLIM).
enum Binaries {
    static var folder: URL {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }

    static func path(_ name: String, env: String) -> String? {
        if let p = ProcessInfo.processInfo.environment[env], FileManager.default.isExecutableFile(atPath: p) { return p }
        var dir = folder
        // The test runner may sit inside `X.xctest/`; walk up a few levels.
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static var daemon: String? { path("segslimd", env: "SEGSLIMD") }
    static var cli: String? { path("segslim", env: "SEGSLIM") }
    static var available: Bool { daemon != nil && cli != nil }

    /// What suites that spawn the real processes need: skipped without it on a developer's
    /// machine, failed under CI=true (where `swift test` has built both).
    static let requirement = Requirement("segslimd and segslim beside the test bundle (swift build builds them; or $SEGSLIMD / $SEGSLIM)") {
        available
    }
}

/// Output of a finished process.
struct ProcessOutput {
    var status: Int32
    var stdout: [UInt8]
    var stderr: String
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs a program with the given stdin bytes (then EOF) and collects everything, with a
/// timeout so a hung process fails the test.
func runProcess(_ path: String, _ args: [String], stdin: [UInt8] = [], environment: [String: String] = [:],
                keepStdinOpenFor seconds: Double = 0, timeout: Double = 60) throws -> ProcessOutput {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
    p.standardInput = inPipe
    p.standardOutput = outPipe
    p.standardError = errPipe
    try p.run()
    let outData = Inbox2(), errData = Inbox2()
    let group = DispatchGroup()
    for (handle, box) in [(outPipe.fileHandleForReading, outData), (errPipe.fileHandleForReading, errData)] {
        group.enter()
        DispatchQueue.global().async {
            let data = handle.readDataToEndOfFile()
            box.set(data)
            group.leave()
        }
    }
    inPipe.fileHandleForWriting.write(Data(stdin))
    if seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
    try? inPipe.fileHandleForWriting.close()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
    if p.isRunning {
        p.terminate()
        Issue.record("\(path) \(args) did not finish within \(timeout) s")
    }
    p.waitUntilExit()
    group.wait()
    return ProcessOutput(status: p.terminationStatus, stdout: Array(outData.get()),
                         stderr: String(decoding: errData.get(), as: UTF8.self))
}

final class Inbox2: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// Splits a daemon's NDJSON output into messages; fails the test on anything that is not JSON.
func ndjsonMessages(_ bytes: [UInt8]) -> [JSONValue] {
    bytes.split(separator: 0x0A).compactMap { line in
        do { return try JSONParser.parse(line) } catch {
            Issue.record("stdout carried a non-JSON line: \(String(decoding: line, as: UTF8.self))")
            return nil
        }
    }
}
