import Foundation

/// Tells a client that went away from one that only finished sending.
///
/// End of input alone is ambiguous: `echo '{...}' | segslimd | jq` closes the daemon's stdin
/// and still reads the answers, while a client that was killed (or closed its socket) reads
/// nothing more. The descriptor the answers go to says which: a pipe whose reader is gone
/// polls as POLLERR, a socket whose peer closed both directions as POLLHUP, while a half-closed
/// socket or a pipe still read shows neither.
package enum PeerWatch {
    /// True when nobody can read what is written to `fd` any more.
    package static func isGone(fd: Int32) -> Bool {
        var p = pollfd(fd: fd, events: 0, revents: 0)
        while true {
            let rc = poll(&p, 1, 0)
            if rc < 0 && errno == EINTR { continue }
            if rc < 0 { return true }
            return rc > 0 && (p.revents & Int16(POLLHUP | POLLERR | POLLNVAL)) != 0
        }
    }
}
