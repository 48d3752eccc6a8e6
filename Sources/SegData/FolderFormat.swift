import Foundation

/// Plain folders: images matched to masks by file stem, and SegNet's CamVid layout.
enum FolderFormat {
    static let imageFolderNames = ["images", "imgs", "image", "JPEGImages"]
    static let maskFolderNames = ["masks", "labels", "annotations", "mask", "label", "gt"]

    static func imageFolder(_ root: String) -> String? {
        imageFolderNames.map { (root as NSString).appendingPathComponent($0) }.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Image files in a folder (sorted), by stem.
    static func images(in dir: String) -> [(stem: String, path: String)] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            .filter { !$0.hasPrefix(".") && Dataset.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
            .map { (($0 as NSString).deletingPathExtension, (dir as NSString).appendingPathComponent($0)) }
    }

    /// Images paired with masks of the same stem. A folder with subfolders per split
    /// (`images/train`, `masks/train`) gives one split each; otherwise one split, `all`.
    static func open(_ root: String) throws(DatasetError) -> Dataset {
        let fm = FileManager.default
        let imageDir = imageFolder(root) ?? root
        let maskDir = maskFolderNames.map { (root as NSString).appendingPathComponent($0) }.first { fm.fileExists(atPath: $0) }
        var splits: [String: [Dataset.Sample]] = [:]
        let subfolders = ((try? fm.contentsOfDirectory(atPath: imageDir)) ?? []).sorted().filter { name in
            var isDir: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: (imageDir as NSString).appendingPathComponent(name), isDirectory: &isDir) && isDir.boolValue
        }
        let groups: [(String, String, String?)] = subfolders.isEmpty
            ? [("all", imageDir, maskDir)]
            : subfolders.map { split in
                (split, (imageDir as NSString).appendingPathComponent(split), maskDir.map { ($0 as NSString).appendingPathComponent(split) })
            }
        for (split, dir, masks) in groups {
            let maskByStem = Dictionary(masks.map { images(in: $0) }.map { $0.map { ($0.stem, $0.path) } } ?? [], uniquingKeysWith: { a, _ in a })
            let samples = images(in: dir).map { Dataset.Sample(image: $0.path, label: masks == nil ? nil : maskByStem[$0.stem]) }
            if !samples.isEmpty { splits[split] = samples }
        }
        guard !splits.isEmpty else { throw .invalid(imageDir, "no .jpg/.jpeg/.png images") }
        let meta = try DatasetMetadata.read(root)
        let n = meta.classes?.count ?? meta.numClasses ?? 0
        return Dataset(root: root, format: .folder, splits: splits, classes: meta.classes ?? (0..<n).map { "class \($0)" },
                       palette: meta.palette ?? DatasetMetadata.defaultPalette(n), ignoreIndex: meta.ignoreIndex ?? 255,
                       labelMapping: nil, problems: .init())
    }

    /// SegNet's CamVid: `<split>/` images with `<split>annot/` labels of the same file name.
    static let camvidClasses = ["sky", "building", "pole", "road", "pavement", "tree", "sign_symbol", "fence", "car", "pedestrian", "bicyclist"]

    static func openCamVid(_ root: String) throws(DatasetError) -> Dataset {
        let fm = FileManager.default
        var splits: [String: [Dataset.Sample]] = [:]
        for split in ["train", "val", "test"] {
            let dir = (root as NSString).appendingPathComponent(split)
            let annot = dir + "annot"
            guard fm.fileExists(atPath: dir) else { continue }
            let labels = Dictionary(images(in: annot).map { ($0.stem, $0.path) }, uniquingKeysWith: { a, _ in a })
            splits[split] = images(in: dir).map { .init(image: $0.path, label: labels[$0.stem]) }
        }
        let meta = try DatasetMetadata.read(root)
        let classes = meta.classes ?? camvidClasses
        return Dataset(root: root, format: .camvid, splits: splits, classes: classes,
                       palette: meta.palette ?? DatasetMetadata.defaultPalette(classes.count), ignoreIndex: meta.ignoreIndex ?? 255,
                       labelMapping: nil, problems: .init())
    }
}
