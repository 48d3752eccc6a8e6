import Foundation

/// Blocking socket reads and writes with time limits, for the web transport's threads.
enum SocketIO {
    /// Writes everything or reports failure. A send time-out (`SO_SNDTIMEO`) shows as EAGAIN
    /// and counts as failure: a peer that has taken nothing for that long is treated as gone.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return true }
            var offset = 0
            while offset < raw.count {
                let n = send(fd, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }

    /// One read into `buffer`; the count, or nil at end of input, on error or on time-out.
    static func read(_ fd: Int32, into buffer: inout [UInt8]) -> Int? {
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            return n > 0 ? n : nil
        }
    }

    /// Sets `SO_RCVTIMEO` or `SO_SNDTIMEO`; 0 means wait forever.
    static func setTimeout(_ fd: Int32, _ option: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
}
