import Foundation

/// Unix-domain stream sockets: how many clients share one warm daemon (`--listen unix:PATH`)
/// and how the CLI reaches it (`--connect unix:PATH`).
package enum UnixSocket {
    package enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case pathTooLong(String, limit: Int)
        case inUse(String)
        case notASocket(String)
        case system(String, call: String, errno: Int32)

        package var description: String {
            switch self {
            case .pathTooLong(let p, let limit): return "socket path '\(p)' is longer than \(limit) bytes"
            case .inUse(let p): return "a daemon is already listening on '\(p)'"
            case .notASocket(let p): return "'\(p)' exists and is not a socket; refusing to replace it"
            case .system(let p, let call, let e): return "\(call) on '\(p)' failed: \(String(cString: strerror(e)))"
            }
        }
    }

    /// Parses `unix:PATH` (or a bare path) into a path.
    package static func path(fromAddress address: String) -> String {
        address.hasPrefix("unix:") ? String(address.dropFirst(5)) : address
    }

    static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) throws(Failure) -> T {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { throw .pathTooLong(path, limit: capacity - 1) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Connects to a listening daemon; returns the connected descriptor.
    package static func connect(path: String) throws(Failure) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .system(path, call: "socket", errno: errno) }
        let rc = try withAddress(path) { Glibc.connect(fd, $0, $1) }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw .system(path, call: "connect", errno: e)
        }
        return fd
    }

    /// Binds and listens at `path` with mode 0600. A live socket there is an error (another
    /// daemon owns it); a stale one (nobody accepting) is replaced; any other file is left alone.
    package static func listen(path: String, backlog: Int32 = 64) throws(Failure) -> Int32 {
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path) }
            if let probe = try? connect(path: path) {
                close(probe)
                throw .inUse(path)
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .system(path, call: "socket", errno: errno) }
        // Create the file 0600 from the start: no window in which others could connect.
        let oldMask = umask(0o177)
        let rc = try withAddress(path) { bind(fd, $0, $1) }
        let bindErrno = errno
        umask(oldMask)
        guard rc == 0 else {
            close(fd)
            throw .system(path, call: "bind", errno: bindErrno)
        }
        chmod(path, 0o600)
        guard Glibc.listen(fd, backlog) == 0 else {
            let e = errno
            close(fd)
            unlink(path)
            throw .system(path, call: "listen", errno: e)
        }
        return fd
    }

    /// Accepts forever on its own thread, handing each connected descriptor to `onClient`.
    package static func acceptLoop(fd: Int32, _ onClient: @escaping @Sendable (Int32) -> Void) {
        let thread = Thread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    break
                }
                onClient(client)
            }
        }
        thread.name = "segslim.accept"
        thread.start()
    }
}
