import Foundation

/// The web app's files, served from one folder and nothing outside it.
///
/// A request path is percent-decoded once, then refused if any segment is empty, `.` or
/// `..`, starts with a dot (`.git`), or holds a NUL or a backslash; the file found is then
/// resolved through every symlink and must still lie inside the (resolved) root. So `..` in
/// any spelling (`%2e%2e`, `%2F..`), an absolute path (`//etc/passwd`) and a symlink pointing
/// out all fail, whichever check catches them first.
package struct StaticFiles: Sendable {
    package enum Lookup: Sendable, Equatable {
        case file(path: String, contentType: String)
        case forbidden
        case notFound
    }

    /// The root with every symlink resolved.
    package let root: String

    package init?(root: String) {
        guard let resolved = Self.realPath(root) else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        self.root = resolved
    }

    /// The file for a request path (the part of the target before `?`, still encoded).
    package func lookup(path encoded: String) -> Lookup {
        guard encoded.hasPrefix("/"), let decoded = PercentDecoding.decode(encoded) else { return .forbidden }
        var relative = String(decoded.dropFirst())
        if relative.isEmpty || relative.hasSuffix("/") { relative += "index.html" }
        let segments = relative.split(separator: "/", omittingEmptySubsequences: false)
        for s in segments {
            if s.isEmpty || s == "." || s == ".." || s.contains("\0") || s.contains("\\") { return .forbidden }
            if s.hasPrefix(".") { return .notFound }
        }
        let candidate = root + "/" + segments.joined(separator: "/")
        guard let resolved = Self.realPath(candidate) else { return .notFound }
        guard resolved.hasPrefix(root + "/") else { return .forbidden }
        var st = stat()
        guard stat(resolved, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return .notFound }
        return .file(path: resolved, contentType: Self.contentType(forPath: resolved))
    }

    /// Types for what a plain HTML/CSS/JS app ships; anything else is opaque bytes (and
    /// `nosniff` keeps a browser from guessing otherwise).
    package static func contentType(forPath path: String) -> String {
        let ext = path.split(separator: "/").last.flatMap { name -> Substring? in
            guard let dot = name.lastIndex(of: ".") else { return nil }
            return name[name.index(after: dot)...]
        }?.lowercased() ?? ""
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json", "map": return "application/json"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "svg": return "image/svg+xml"
        case "ico": return "image/x-icon"
        case "webp": return "image/webp"
        case "txt": return "text/plain; charset=utf-8"
        case "woff2": return "font/woff2"
        default: return "application/octet-stream"
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
