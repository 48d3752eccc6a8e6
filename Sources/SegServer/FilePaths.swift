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
    static func atomicWrite(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: tmp, contents: Data(bytes)) else {
            throw ResponseError.invalidParams("cannot write \(path): the folder is not writable")
        }
        guard rename(tmp, path) == 0 else {
            let e = String(cString: strerror(errno))
            unlink(tmp)
            throw ResponseError.invalidParams("cannot write \(path): \(e)")
        }
    }

    /// A value name made safe as a file name (`out/logits:0` → `out_logits_0`).
    static func safeFileName(_ name: String) -> String {
        let mapped = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
        return mapped.isEmpty || mapped.hasPrefix(".") ? "output" + mapped : mapped
    }
}
