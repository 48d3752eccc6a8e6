import Foundation
import SegWeb
import Testing

/// Paths confined to the app folder, in every spelling of a way out.
struct StaticFilesTests {
    /// root/{index.html, app.js, style.css, logo.png, data.json, sub/icon.svg, .hidden,
    /// inside -> app.js, outside -> ../secret.txt}, with secret.txt beside root.
    func makeTree() throws -> (root: String, files: StaticFiles) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("segweb-static-\(UUID().uuidString)")
        let root = base.appendingPathComponent("web")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        for name in ["index.html", "app.js", "style.css", "logo.png", "data.json", "sub/icon.svg", ".hidden", "noext"] {
            try Data("x".utf8).write(to: root.appendingPathComponent(name))
        }
        try Data("secret".utf8).write(to: base.appendingPathComponent("secret.txt"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("inside").path, withDestinationPath: "app.js")
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("outside").path, withDestinationPath: "../secret.txt")
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("etc").path, withDestinationPath: "/etc")
        let files = try #require(StaticFiles(root: root.path))
        return (files.root, files)
    }

    @Test func servesFilesWithTheirTypes() throws {
        let (root, files) = try makeTree()
        #expect(files.lookup(path: "/") == .file(path: root + "/index.html", contentType: "text/html; charset=utf-8"))
        #expect(files.lookup(path: "/sub/") == .notFound)   // no index.html there
        #expect(files.lookup(path: "/app.js") == .file(path: root + "/app.js", contentType: "text/javascript; charset=utf-8"))
        #expect(files.lookup(path: "/style.css") == .file(path: root + "/style.css", contentType: "text/css; charset=utf-8"))
        #expect(files.lookup(path: "/logo.png") == .file(path: root + "/logo.png", contentType: "image/png"))
        #expect(files.lookup(path: "/data.json") == .file(path: root + "/data.json", contentType: "application/json"))
        #expect(files.lookup(path: "/sub/icon.svg") == .file(path: root + "/sub/icon.svg", contentType: "image/svg+xml"))
        #expect(files.lookup(path: "/sub%2Ficon.svg") == .file(path: root + "/sub/icon.svg", contentType: "image/svg+xml"))
        #expect(files.lookup(path: "/noext") == .file(path: root + "/noext", contentType: "application/octet-stream"))
        #expect(files.lookup(path: "/inside") == .file(path: root + "/app.js", contentType: "text/javascript; charset=utf-8"))
    }

    @Test func waysOutAreForbidden() throws {
        let (_, files) = try makeTree()
        for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt",
                     "//etc/passwd", "/%2Fetc%2Fpasswd", "/./index.html", "/a%00b", "/a\\..\\b", "/%5C..%5Csecret.txt", "/%zz", "relative",
                     "/outside", "/etc/passwd"] {
            #expect(files.lookup(path: path) == .forbidden, "\(path)")
        }
    }

    @Test func missingHiddenAndFoldersAreNotFound() throws {
        let (_, files) = try makeTree()
        for path in ["/missing.js", "/.hidden", "/sub", "/sub/.git/config", "/%2Ehidden"] {
            #expect(files.lookup(path: path) == .notFound, "\(path)")
        }
    }

    @Test func rootMustBeAFolder() {
        #expect(StaticFiles(root: "/nonexistent/segslim/web") == nil)
        #expect(StaticFiles(root: "/etc/hostname") == nil)
    }

    @Test func webRootSearchOrder() throws {
        let (root, _) = try makeTree()
        let cwd = FileManager.default.temporaryDirectory.appendingPathComponent("segweb-cwd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: cwd.appendingPathComponent("clients/web"), withIntermediateDirectories: true)
        let repo = FileManager.default.temporaryDirectory.appendingPathComponent("segweb-repo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("clients/web"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: repo.appendingPathComponent(".build/debug"), withIntermediateDirectories: true)
        try Data().write(to: repo.appendingPathComponent("Package.swift"))
        let exe = repo.appendingPathComponent(".build/debug/segslimd").path
        let nowhere = "/nonexistent-\(UUID().uuidString)"

        #expect(try WebRoot.locate(flag: root, environment: ["SEGSLIM_WEB_ROOT": nowhere], currentDirectory: cwd.path, executable: exe) == root)
        #expect(throws: WebRoot.Failure.self) { try WebRoot.locate(flag: nowhere, environment: [:], currentDirectory: cwd.path, executable: exe) }
        #expect(try WebRoot.locate(flag: nil, environment: ["SEGSLIM_WEB_ROOT": root], currentDirectory: cwd.path, executable: exe) == root)
        #expect(throws: WebRoot.Failure.self) { try WebRoot.locate(flag: nil, environment: ["SEGSLIM_WEB_ROOT": nowhere], currentDirectory: cwd.path, executable: exe) }
        #expect(try WebRoot.locate(flag: nil, environment: [:], currentDirectory: cwd.path, executable: exe) == cwd.appendingPathComponent("clients/web").path)
        #expect(try WebRoot.locate(flag: nil, environment: [:], currentDirectory: nowhere, executable: exe) == repo.appendingPathComponent("clients/web").path)
        #expect(try WebRoot.locate(flag: nil, environment: [:], currentDirectory: nowhere, executable: "/usr/bin/segslimd") == nil)
    }
}
