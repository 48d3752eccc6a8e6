import Foundation
import SegProtocol

/// Paths from the wire: checked, made absolute, and written without ever leaving a
/// half-written file or overwriting what the user did not ask to overwrite.
enum FilePaths {
    static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        return URL(fileURLWithPath: expanded).standardizedFileURL.path
    }

    /// An existing, readable regular file.
    static func existingFile(_ path: String, field: String) throws -> String {
        guard !path.isEmpty else { throw ResponseError.invalidParams("\(field): empty path") }
        let abs = absolute(path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: abs, isDirectory: &isDir) else {
            throw ResponseError(.fileNotFound, "\(field): no such file: \(abs)")
        }
        guard !isDir.boolValue else { throw ResponseError(.fileNotFound, "\(field): \(abs) is a directory, not a file") }
        guard FileManager.default.isReadableFile(atPath: abs) else { throw ResponseError(.fileNotFound, "\(field): \(abs) is not readable") }
        return abs
    }

    /// A file to write: its folder is created if missing; an existing file is an error
    /// unless `overwrite`.
    static func outputFile(_ path: String, field: String, overwrite: Bool) throws -> String {
        guard !path.isEmpty else { throw ResponseError.invalidParams("\(field): empty path") }
        let abs = absolute(path)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: abs, isDirectory: &isDir) {
            if isDir.boolValue { throw ResponseError.invalidParams("\(field): \(abs) is a directory") }
            if !overwrite { throw ResponseError(.outputExists, "\(field): \(abs) exists; pass overwrite: true to replace it") }
        }
        _ = try outputDirectory((abs as NSString).deletingLastPathComponent, field: field)
        return abs
    }

    /// A folder to write into, created if missing.
    static func outputDirectory(_ path: String, field: String) throws -> String {
        let abs = absolute(path)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: abs, isDirectory: &isDir) {
            guard isDir.boolValue else { throw ResponseError.invalidParams("\(field): \(abs) exists and is not a directory") }
            return abs
        }
        do { try FileManager.default.createDirectory(atPath: abs, withIntermediateDirectories: true) } catch {
            throw ResponseError.invalidParams("\(field): cannot create directory \(abs): \(error.localizedDescription)")
        }
        return abs
    }

    /// Writes to a temporary file beside the target, then renames: a crash or a failure
    /// never leaves a half-written file at `path`.
    /// `durable` flushes the temporary to disk before the rename (models and reports: after a
    /// crash the file is whole or absent); previews skip it (an fsync costs ~0.5 ms or more per
    /// file, and `model/segment` writes two per image).
    static func atomicWrite(_ bytes: [UInt8], to path: String, durable: Bool = true) throws {
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard writeNewFile(bytes, at: tmp, durable: durable) else {
            throw ResponseError.invalidParams("cannot write \(path): the folder is not writable")
        }
        guard rename(tmp, path) == 0 else {
            let e = String(cString: strerror(errno))
            unlink(tmp)
            throw ResponseError.invalidParams("cannot write \(path): \(e)")
        }
    }

    /// Creates `path` (which must not exist) with `bytes`; false on any failure, leaving nothing.
    static func writeNewFile(_ bytes: [UInt8], at path: String, durable: Bool) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        var ok = bytes.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                done += n
            }
            return true
        }
        if ok && durable { ok = fsync(fd) == 0 }
        if close(fd) != 0 { ok = false }
        if !ok { unlink(path) }
        return ok
    }

    /// A value name made safe as a file name (`out/logits:0` → `out_logits_0`).
    static func safeFileName(_ name: String) -> String {
        let mapped = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
        return mapped.isEmpty || mapped.hasPrefix(".") ? "output" + mapped : mapped
    }
}
