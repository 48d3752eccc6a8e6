import Foundation
import Synchronization

/// Counters shared by every connection.
final class ServerStats: Sendable {
    private struct State {
        var requestsServed: Int64 = 0
        var inFlight = 0
        var connections = 0
    }
    private let state = Mutex(State())
    let startedAt = Date()

    func requestStarted() { state.withLock { $0.inFlight += 1 } }
    func requestFinished() { state.withLock { $0.inFlight -= 1; $0.requestsServed += 1 } }
    func connectionOpened() { state.withLock { $0.connections += 1 } }
    func connectionClosed() { state.withLock { $0.connections -= 1 } }

    var snapshot: (served: Int64, inFlight: Int, connections: Int) {
        state.withLock { ($0.requestsServed, $0.inFlight, $0.connections) }
    }

    /// Peak resident set size (VmHWM) from /proc; 0 where it cannot be read.
    static func peakResidentSetBytes() -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int64($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }

    /// Resident set size from /proc (Linux); 0 where it cannot be read.
    static func residentSetBytes() -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int64(fields[1]) else { return 0 }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }
}
