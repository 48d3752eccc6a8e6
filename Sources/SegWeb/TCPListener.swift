import Foundation

/// The listening TCP socket of `--listen http://HOST:PORT`.
package enum TCPListener {
    package enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case badAddress(String, String)
        case notLoopback(String)
        case system(String, call: String, errno: Int32)

        package var description: String {
            switch self {
            case .badAddress(let a, let why): return "cannot listen on '\(a)': \(why)"
            case .notLoopback(let a):
                return "refusing to listen on '\(a)': it is not a loopback address, so anyone who can reach this machine could drive the daemon; use 127.0.0.1 (or pass --allow-remote, and name the host with --allow-host)"
            case .system(let a, let call, let e): return "\(call) for '\(a)' failed: \(String(cString: strerror(e)))"
            }
        }
    }

    /// Host and port of `http://HOST:PORT[/]`; HOST is an IPv4 address, `[IPv6]` or `localhost`.
    package static func parse(_ address: String) throws(Failure) -> (host: String, port: UInt16) {
        guard address.lowercased().hasPrefix("http://") else { throw .badAddress(address, "expected http://HOST:PORT") }
        var rest = Substring(address.dropFirst(7))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("]") else {
            throw .badAddress(address, "no port (PORT 0 picks a free one)")
        }
        let host = String(rest[..<colon])
        guard let port = UInt16(rest[rest.index(after: colon)...]) else { throw .badAddress(address, "port must be 0...65535") }
        guard !host.isEmpty else { throw .badAddress(address, "no host") }
        return (host, port)
    }

    /// Binds and listens; returns the descriptor and the port actually bound (PORT 0 picks one).
    package static func listen(host: String, port: UInt16, allowRemote: Bool, backlog: Int32 = 64) throws(Failure) -> (fd: Int32, port: UInt16) {
        let label = "\(host):\(port)"
        let name = host == "localhost" ? "127.0.0.1" : host
        var v4 = in_addr(), v6 = in6_addr()
        let isV6: Bool
        if name.hasPrefix("[") && name.hasSuffix("]"), inet_pton(AF_INET6, String(name.dropFirst().dropLast()), &v6) == 1 {
            isV6 = true
        } else if inet_pton(AF_INET, name, &v4) == 1 {
            isV6 = false
        } else {
            throw .badAddress(label, "HOST must be an IPv4 address, [IPv6] or localhost")
        }
        let loopback = isV6 ? isLoopback(v6) : (UInt32(bigEndian: v4.s_addr) >> 24) == 127
        guard loopback || allowRemote else { throw .notLoopback(label) }

        let fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(label, call: "socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc: Int32
        if isV6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            addr.sin6_addr = v6
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            addr.sin_addr = v4
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw .system(label, call: "bind", errno: e)
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let e = errno
            close(fd)
            throw .system(label, call: "listen", errno: e)
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let boundPort: UInt16 = withUnsafePointer(to: &bound) { p in
            isV6 ? p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                 : p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return (fd, boundPort)
    }

    static func isLoopback(_ a: in6_addr) -> Bool {
        let bytes = withUnsafeBytes(of: a) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }    // ::1
        // ::ffff:127.x.y.z, an IPv4 loopback address written as IPv6
        return bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
    }
}
