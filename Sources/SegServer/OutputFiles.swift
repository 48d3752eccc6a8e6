import Foundation
import SegProtocol
import Synchronization

/// How the daemon writes files: each is first written in full to a temporary beside its
/// target, then published by a rename; a set of files (a model and its report) is published
/// together or not at all.
///
/// Temporaries are named `.segslim-tmp-<pid>-<random>-<target name>`, so they are hidden,
/// recognisable, and tell which process made them. A failed write removes its own; those a
/// killed daemon left behind are removed the first time a daemon writes into that folder
/// (only names with the prefix whose process is gone, never another file).
///
/// Without `overwrite`, publishing never replaces a file, even one created after the
/// request's first check: the temporary is hard-linked to the target (which fails with
/// EEXIST when the name is taken) and then unlinked. Swift's Glibc module does not expose
/// `renameat2(RENAME_NOREPLACE)`, and `link` is the classic no-replace publish.
package enum OutputFiles {
    package static let temporaryPrefix = ".segslim-tmp-"

    /// A file written in full under a temporary name, waiting to be published.
    package struct Staged: Sendable {
        package var target: String
        package var temporary: String
    }

    // MARK: - Staging

    /// Writes `bytes` to a fresh temporary beside `target` (created exclusively, so it never
    /// follows or reuses an existing name). On failure nothing is left behind. `durable` flushes
    /// it to disk first (models and reports: whole or absent after a crash); previews skip that
    /// (an fsync costs ~0.5 ms or more per file, and `model/segment` writes two per image).
    package static func stage(_ bytes: [UInt8], for target: String, durable: Bool = true) throws(ResponseError) -> Staged {
        try FilePaths.checkName(target, field: "output path")
        let dir = (target as NSString).deletingLastPathComponent
        sweepOnce(dir)
        let tmp = temporaryName(beside: target)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw failure("cannot write \(target)", errno) }
        var written = 0
        let err: Int32? = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return nil
        }
        let synced: Int32? = err == nil && durable && fsync(fd) != 0 ? errno : nil
        let closed = close(fd)
        if let err = err ?? synced { unlink(tmp); throw failure("cannot write \(target)", err) }
        if closed != 0 { let e = errno; unlink(tmp); throw failure("cannot write \(target)", e) }
        return Staged(target: target, temporary: tmp)
    }

    /// Removes staged temporaries that will not be published.
    package static func discard(_ files: [Staged]) {
        for f in files { unlink(f.temporary) }
    }

    // MARK: - Publishing

    /// Publishes every staged file, or none: on any failure the targets published so far are
    /// restored (removed, or their previous content put back when overwriting) and every
    /// temporary is removed. Without `overwrite`, an existing target is OutputExists.
    package static func publish(_ files: [Staged], overwrite: Bool, field: String = "output path") throws(ResponseError) {
        var done: [(Staged, backup: String?)] = []
        var failed: ResponseError? = nil
        for f in files {
            do throws(ResponseError) {
                done.append((f, try publishOne(f, overwrite: overwrite, field: field)))
            } catch {
                failed = error
                break
            }
        }
        guard let failed else {
            for (_, backup) in done { backup.map { _ = unlink($0) } }
            return
        }
        for (f, backup) in done.reversed() {
            if let backup { rename(backup, f.target) } else { unlink(f.target) }
        }
        discard(files)
        throw failed
    }

    /// Writes one file and publishes it.
    package static func write(_ bytes: [UInt8], to target: String, overwrite: Bool, field: String = "output path",
                              durable: Bool = true) throws(ResponseError) {
        try publish([try stage(bytes, for: target, durable: durable)], overwrite: overwrite, field: field)
    }

    /// Publishes one file; returns the backup (a hard link to the content it replaced) that
    /// `publish` removes on success and renames back on a later failure.
    private static func publishOne(_ f: Staged, overwrite: Bool, field: String) throws(ResponseError) -> String? {
        if overwrite {
            var backup: String? = temporaryName(beside: f.target)
            // Nothing to back up, or a file system without hard links: best effort.
            if link(f.target, backup!) != 0 { backup = nil }
            guard rename(f.temporary, f.target) == 0 else {
                let e = errno
                backup.map { _ = unlink($0) }
                throw failure("cannot write \(f.target)", e)
            }
            return backup
        }
        guard link(f.temporary, f.target) == 0 else {
            let e = errno
            if e == EEXIST {
                throw ResponseError(.outputExists, "\(field): \(f.target) exists; pass overwrite: true to replace it (nothing was written)")
            }
            throw failure("cannot write \(f.target)", e)
        }
        unlink(f.temporary)
        return nil
    }

    // MARK: - Temporaries

    /// `dir/.segslim-tmp-<pid>-<random>-<name>`, within the file system's 255-byte name limit.
    static func temporaryName(beside target: String) -> String {
        let dir = (target as NSString).deletingLastPathComponent
        let head = "\(temporaryPrefix)\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))-"
        var tail = ""
        for ch in (target as NSString).lastPathComponent {
            guard head.utf8.count + tail.utf8.count + String(ch).utf8.count <= 255 else { break }
            tail.append(ch)
        }
        return (dir as NSString).appendingPathComponent(head + tail)
    }

    /// The process id in a temporary's name, or nil for a name that is not one of ours.
    static func owner(ofTemporary name: String) -> pid_t? {
        guard name.hasPrefix(temporaryPrefix) else { return nil }
        let digits = name.dropFirst(temporaryPrefix.count).prefix { $0.isASCII && $0.isNumber }
        return pid_t(digits)
    }

    /// Removes temporaries in `dir` left by daemons that are no longer running (killed during
    /// a write); those of live processes, this one included, are in use.
    @discardableResult
    package static func sweep(_ dir: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        var removed: [String] = []
        for name in names {
            guard let pid = owner(ofTemporary: name), pid > 0, pid != getpid() else { continue }
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            let path = (dir as NSString).appendingPathComponent(name)
            if unlink(path) == 0 { removed.append(path) }
        }
        if !removed.isEmpty { Log.info("removed \(removed.count) stale temporary file(s) in \(dir)") }
        return removed
    }

    private static let swept = Mutex<Set<String>>([])

    /// Sweeps a folder the first time this process writes into it.
    private static func sweepOnce(_ dir: String) {
        guard swept.withLock({ $0.insert(dir).inserted }) else { return }
        sweep(dir)
    }

    private static func failure(_ what: String, _ code: Int32) -> ResponseError {
        ResponseError.invalidParams("\(what): \(String(cString: strerror(code)))")
    }
}
