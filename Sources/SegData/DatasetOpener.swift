import Foundation

extension Dataset {
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Opens a dataset folder, detecting its format unless one is given.
    package static func open(path: String, format: Format? = nil) throws(DatasetError) -> Dataset {
        let root = URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL.path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else { throw .notFound(root) }
        let detected = format ?? detect(root)
        guard let detected else {
            throw .unrecognized(root, tried: [
                "PaddleSeg <split>.txt list files", "Cityscapes leftImg8bit/ + gtFine/", "VOC JPEGImages/ + ImageSets/Segmentation/",
                "CamVid train/ + trainannot/", "images/ + masks/ folders, or a folder of images",
            ])
        }
        var dataset: Dataset
        switch detected {
        case .paddleseg: dataset = try PaddleSegFormat.open(root)
        case .cityscapes: dataset = try CityscapesFormat.open(root)
        case .voc: dataset = try VOCFormat.open(root)
        case .camvid: dataset = try FolderFormat.openCamVid(root)
        case .folder: dataset = try FolderFormat.open(root)
        }
        dataset.checkFiles()
        return dataset
    }

    static func detect(_ root: String) -> Format? {
        let fm = FileManager.default
        func exists(_ p: String) -> Bool { fm.fileExists(atPath: (root as NSString).appendingPathComponent(p)) }
        if exists("leftImg8bit") && exists("gtFine") { return .cityscapes }
        if exists("JPEGImages") && exists("ImageSets/Segmentation") { return .voc }
        let entries = (try? fm.contentsOfDirectory(atPath: root)) ?? []
        if entries.contains(where: { $0.hasSuffix(".txt") && !$0.hasPrefix(".") }) { return .paddleseg }
        if exists("train") && exists("trainannot") { return .camvid }
        if FolderFormat.imageFolder(root) != nil || entries.contains(where: { imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }) {
            return .folder
        }
        return nil
    }

    /// Counts files that are named but missing, so `dataset/open` reports them up front.
    mutating func checkFiles() {
        let fm = FileManager.default
        for name in splitNames {
            for s in splits[name] ?? [] {
                if !fm.isReadableFile(atPath: s.image) { problems.missing(s.image) }
                if let l = s.label, !fm.isReadableFile(atPath: l) { problems.missing(l) }
            }
        }
    }

    package func samples(split: String) throws(DatasetError) -> [Sample] {
        guard let s = splits[split] else { throw .unknownSplit(split, available: splitNames) }
        return s
    }

    /// The split to calibrate on by default: `train` if present, else the first.
    package var defaultCalibrationSplit: String? { splits["train"] != nil ? "train" : splitNames.first }
}
