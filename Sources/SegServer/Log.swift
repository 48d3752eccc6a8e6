import Foundation
import Synchronization

/// Logging to stderr, never stdout (stdout carries protocol bytes only).
package enum Log {
    package enum Level: Int, Sendable, Comparable, CaseIterable {
        case error, warning, info, debug
        package static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        package init?(name: String) {
            switch name.lowercased() {
            case "error": self = .error
            case "warn", "warning": self = .warning
            case "info": self = .info
            case "debug", "trace": self = .debug
            default: return nil
            }
        }
        var tag: String { ["error", "warn", "info", "debug"][rawValue] }
    }

    static let current = Mutex(Level.warning)

    package static var level: Level {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }

    package static func error(_ message: @autoclosure () -> String) { write(.error, message) }
    package static func warning(_ message: @autoclosure () -> String) { write(.warning, message) }
    package static func info(_ message: @autoclosure () -> String) { write(.info, message) }
    package static func debug(_ message: @autoclosure () -> String) { write(.debug, message) }

    static func write(_ l: Level, _ message: () -> String) {
        guard l <= level else { return }
        let line = "segslimd[\(getpid())] \(l.tag): \(message())\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
