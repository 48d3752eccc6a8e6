import Foundation
import SegProtocol

/// Paths from the wire: checked and made absolute. Writing them is `OutputFiles`' job.
enum FilePaths {
    static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        return URL(fileURLWithPath: expanded).standardizedFileURL.path
    }

    /// An existing, readable regular file.
    static func existingFile(_ path: String, field: String) throws -> String {
        guard !path.isEmpty else { throw ResponseError.invalidParams("\(field): empty path") }
        try checkName(path, field: field)
        let abs = absolute(path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: abs, isDirectory: &isDir) else {
            throw ResponseError(.fileNotFound, "\(field): no such file: \(abs)")
        }
        guard !isDir.boolValue else { throw ResponseError(.fileNotFound, "\(field): \(abs) is a directory, not a file") }
        guard FileManager.default.isReadableFile(atPath: abs) else { throw ResponseError(.fileNotFound, "\(field): \(abs) is not readable") }
        return abs
    }

    /// A file to write: its folder is created if missing (or, without `createDirectory`, must
    /// exist); an existing file is an error unless `overwrite`.
    static func outputFile(_ path: String, field: String, overwrite: Bool, createDirectory: Bool = true) throws -> String {
        guard !path.isEmpty else { throw ResponseError.invalidParams("\(field): empty path") }
        try checkName(path, field: field)
        let abs = absolute(path)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: abs, isDirectory: &isDir) {
            if isDir.boolValue { throw ResponseError.invalidParams("\(field): \(abs) is a directory") }
            if !overwrite { throw ResponseError(.outputExists, "\(field): \(abs) exists; pass overwrite: true to replace it") }
        }
        let folder = (abs as NSString).deletingLastPathComponent
        if !createDirectory && !FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) {
            throw ResponseError(.fileNotFound, "\(field): the folder \(folder) does not exist")
        }
        _ = try outputDirectory((abs as NSString).deletingLastPathComponent, field: field)
        return abs
    }

    /// A folder to write into, created if missing.
    static func outputDirectory(_ path: String, field: String) throws -> String {
        try checkName(path, field: field)
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

    /// Refuses names the file system would refuse or misread: a NUL (C truncates the path at
    /// it), a component over 255 bytes, a path over 4095 bytes. Checked before anything is
    /// written, so no temporary is left under a name the OS will not take.
    static func checkName(_ path: String, field: String) throws(ResponseError) {
        if path.utf8.contains(0) { throw ResponseError.invalidParams("\(field): the path contains a NUL character") }
        if path.utf8.count > 4095 { throw ResponseError.invalidParams("\(field): the path is longer than 4095 bytes") }
        if let long = path.split(separator: "/").first(where: { $0.utf8.count > 255 }) {
            throw ResponseError.invalidParams("\(field): the name '\(long.prefix(40))...' is longer than 255 bytes")
        }
    }

    /// A value name made safe as a file name (`out/logits:0` → `out_logits_0`).
    static func safeFileName(_ name: String) -> String {
        let mapped = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
        return mapped.isEmpty || mapped.hasPrefix(".") ? "output" + mapped : mapped
    }
}
