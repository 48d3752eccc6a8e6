import Foundation

/// What a model file was when it was read: device, inode, size and modification time. A file
/// replaced at the same path (renamed over, or rewritten in place) differs in at least one, so
/// a warm daemon can tell that the model it holds is no longer the file at that path.
package struct FileIdentity: Sendable, Equatable, CustomStringConvertible {
    package var device: UInt64
    package var inode: UInt64
    package var size: Int64
    /// Nanoseconds since 1970.
    package var modified: Int64

    /// The file at `path` now, or nil when it cannot be examined (gone, unreadable).
    package init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }

    package var description: String {
        let date = Date(timeIntervalSince1970: Double(modified) / 1e9)
        return "\(size) bytes, inode \(inode), modified \(ISO8601DateFormatter().string(from: date))"
    }
}
