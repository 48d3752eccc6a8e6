import Foundation
import SegProtocol
import SegTransport

/// Ctrl-C (SIGINT) and SIGTERM while a command runs: the daemon is told to stop the request
/// in flight (`$/cancelRequest`), given a moment to answer, and a daemon this CLI spawned is
/// made to exit before the CLI does (its stdin and stdout closed, then SIGTERM, then SIGKILL
/// if it still has not gone). Exit status 130 for SIGINT, 143 for SIGTERM, as shells expect.
///
/// The CLI's main thread is blocked reading the daemon, so the signals are taken on a
/// dispatch queue; what the two threads share (the id in flight, the write end) lives here
/// under one lock. Once interrupted, the main thread only reports the answer it reads and
/// then waits for this path to end the process.
final class Interruption: @unchecked Sendable {
    /// How long the daemon has to answer the cancel, then to exit after its input closes.
    static let answerGrace: Double = 2
    static let exitGrace: Double = 2
    /// For a request that answers a cancel with a result (an auto-compression's best model so
    /// far, scored on its final split and written): how long that may take.
    static let resultGrace: Double = 1800

    private let lock = NSLock()
    private var inFlight: RequestID? = nil
    /// The request in flight answers a cancel with a result the command still reports.
    private var keepsAnswer = false
    /// The interrupted request's answer went back to its command: from then on the CLI winds
    /// down as usual (its shutdown of the daemon included) and only its exit status says it
    /// was interrupted.
    private var handedBack = false
    private var signalled: Int32 = 0
    private var sources: [DispatchSourceSignal] = []
    private let answered = DispatchSemaphore(value: 0)
    private var connectionClosed = false

    let writeFD: Int32
    let process: Process?
    /// Closes both ends of the connection to the daemon (pipes or socket).
    let closeConnection: @Sendable () -> Void

    init(writeFD: Int32, process: Process?, closeConnection: @escaping @Sendable () -> Void) {
        self.writeFD = writeFD
        self.process = process
        self.closeConnection = closeConnection
    }

    /// Takes over SIGINT and SIGTERM. Called after the daemon was spawned, so the daemon
    /// keeps the default dispositions (a terminal's Ctrl-C, sent to the whole group, still
    /// reaches it directly).
    func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in interrupted(by: sig) }
            source.resume()
            sources.append(source)
        }
    }

    /// Writes are whole messages under the lock, so a cancel never lands inside a request.
    func write(_ bytes: [UInt8]) -> Bool {
        lock.withLock { DaemonClient.writeAll(fd: writeFD, bytes) }
    }

    func started(_ id: RequestID, keepsAnswer: Bool = false) {
        lock.withLock { inFlight = id; self.keepsAnswer = keepsAnswer }
    }

    /// The signal that interrupted the command (0: none): a command that reported an
    /// interrupted request's answer still exits with 128 + it.
    var receivedSignal: Int32 { lock.withLock { signalled } }

    /// The answer to the request in flight arrived (or the connection broke). After an
    /// interruption the main thread parks here: the signal path owns the exit.
    func finished() {
        let (interrupted, keep) = lock.withLock { () -> (Bool, Bool) in
            inFlight = nil
            if handedBack { return (false, false) }
            if signalled != 0 && keepsAnswer { handedBack = true }
            return (signalled != 0, keepsAnswer)
        }
        guard interrupted else { return }
        answered.signal()
        // A result that answers the cancel goes back to the command, which reports it.
        if keep { return }
        while true { sleep(60) }
    }

    private func interrupted(by sig: Int32) {
        let (first, id, keep) = lock.withLock { () -> (Bool, RequestID?, Bool) in
            defer { if signalled == 0 { signalled = sig } }
            return (signalled == 0, inFlight, keepsAnswer)
        }
        // A second Ctrl-C while waiting: stop waiting politely.
        guard first else { stop(exitCode: 128 + sig, hard: true) }
        FileHandle.standardError.write(Data("\nsegslim: interrupted; cancelling\n".utf8))
        if let id {
            let cancel = Message.notification(method: CancelRequestNotification.method, params: ["id": id.json])
            if write(MessageWriter.frame(cancel.json.serialized(), framing: .contentLength)) {
                if keep {
                    FileHandle.standardError.write(Data("segslim: waiting for the best result so far (Ctrl-C again to quit now)\n".utf8))
                    // The command reports the answer and exits itself.
                    if answered.wait(timeout: .now() + Self.resultGrace) == .success { return }
                } else {
                    _ = answered.wait(timeout: .now() + Self.answerGrace)
                }
            }
        }
        stop(exitCode: 128 + sig, hard: false)
    }

    private func stop(exitCode: Int32, hard: Bool) -> Never {
        // A daemon whose client is gone cancels what it still runs and exits.
        let close = lock.withLock { () -> Bool in
            defer { connectionClosed = true }
            return !connectionClosed
        }
        if close { closeConnection() }
        if let process {
            if !hard { waitForExit(process, seconds: Self.exitGrace) }
            if process.isRunning {
                process.terminate()
                waitForExit(process, seconds: Self.exitGrace)
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        exit(exitCode)
    }

    private func waitForExit(_ process: Process, seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
    }
}
