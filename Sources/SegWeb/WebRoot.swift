import Foundation

/// Finds the web app's folder (`clients/web/`), in this order: `--web-root DIR`, then
/// `$SEGSLIM_WEB_ROOT`, then `clients/web` under the current directory, then `clients/web`
/// beside the first `Package.swift` found walking up from the executable's folder (a
/// `swift build` tree). An explicit choice that is not a folder is an error, not a fallback.
package enum WebRoot {
    package enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case notAFolder(String, from: String)

        package var description: String {
            switch self {
            case .notAFolder(let p, let from): return "web root '\(p)' (from \(from)) is not a folder"
            }
        }
    }

    /// The folder to serve, or nil when none of the places has one.
    package static func locate(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                               currentDirectory: String = FileManager.default.currentDirectoryPath,
                               executable: String = executablePath()) throws(Failure) -> String? {
        if let flag {
            guard isFolder(flag) else { throw .notAFolder(flag, from: "--web-root") }
            return flag
        }
        if let env = environment["SEGSLIM_WEB_ROOT"], !env.isEmpty {
            guard isFolder(env) else { throw .notAFolder(env, from: "SEGSLIM_WEB_ROOT") }
            return env
        }
        let local = URL(fileURLWithPath: currentDirectory).appendingPathComponent("clients/web").path
        if isFolder(local) { return local }
        var dir = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                let candidate = dir.appendingPathComponent("clients/web").path
                return isFolder(candidate) ? candidate : nil
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    package static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
