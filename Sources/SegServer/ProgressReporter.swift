import Foundation
import SegProtocol
import SegTransport
import Synchronization

/// Sends `$/progress` begin/report/end for one request when the client passed a
/// `workDoneToken`; does nothing otherwise. The server sends `end` itself if a handler began
/// and did not end, so a failing handler never leaves a progress bar spinning.
final class ProgressReporter: Sendable {
    let token: ProgressToken?
    let writer: (any MessageSink)?
    private let phase = Mutex(0)  // 0 idle, 1 begun, 2 ended

    init(token: ProgressToken?, writer: (any MessageSink)?) {
        self.token = token
        self.writer = writer
    }

    static let none = ProgressReporter(token: nil, writer: nil)

    var isActive: Bool { token != nil }

    func begin(_ title: String, message: String? = nil) {
        guard phase.withLock({ p in defer { if p == 0 { p = 1 } }; return p == 0 }) else { return }
        send(.init(token: tokenOrDummy, kind: .begin, title: title, message: message, percentage: 0))
    }

    /// `fraction` in 0...1, sent as LSP's 0...100 percentage.
    func report(_ fraction: Double, message: String? = nil) {
        guard phase.withLock({ $0 == 1 }) else { return }
        let pct = Int((min(max(fraction, 0), 1) * 100).rounded())
        send(.init(token: tokenOrDummy, kind: .report, message: message, percentage: pct))
    }

    func end(_ message: String? = nil) {
        guard phase.withLock({ p in defer { if p == 1 { p = 2 } }; return p == 1 }) else { return }
        send(.init(token: tokenOrDummy, kind: .end, message: message))
    }

    private var tokenOrDummy: ProgressToken { token ?? .int(0) }

    private func send(_ n: ProgressNotification) {
        guard token != nil, let writer else { return }
        writer.send(Message.notification(method: ProgressNotification.method, params: n.json))
    }
}
