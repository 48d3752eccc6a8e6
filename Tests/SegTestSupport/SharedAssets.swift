import Foundation

/// The read-only data and models in `../shared`, beside the repository root (found from this
/// file's path, so no machine path is written anywhere); `SEGSLIM_SHARED` points elsewhere.
package enum SharedAssets {
    package static var root: String {
        if let dir = ProcessInfo.processInfo.environment["SEGSLIM_SHARED"], !dir.isEmpty { return dir }
        // Tests/SegTestSupport/SharedAssets.swift → the repository root → its parent.
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared").path
    }

    /// `relative` inside the shared folder ("models/lraspp_mbv3_camvid.onnx").
    package static func path(_ relative: String) -> String {
        (root as NSString).appendingPathComponent(relative)
    }

    /// All of `relative` present in the shared folder.
    package static func requirement(_ relative: String...) -> Requirement {
        let paths = relative.map(path)
        return Requirement(paths.count == 1 ? paths[0] : "\(paths.joined(separator: ", "))") {
            paths.allSatisfy { FileManager.default.fileExists(atPath: $0) }
        }
    }
}
