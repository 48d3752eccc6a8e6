import Foundation

/// A segmentation dataset on disk: named splits of (image, label?) samples plus what the
/// labels mean. Opening one only lists and checks files; images are decoded when used.
public struct Dataset: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        /// `<split>.txt` files with `image label` per line (a line with only an image is an
        /// unlabeled sample), optional `dataset.json`.
        case paddleseg
        /// `leftImg8bit/<split>/<city>/*_leftImg8bit.png` + `gtFine/.../*_gtFine_labelIds.png`.
        case cityscapes
        /// `JPEGImages/`, `SegmentationClass/` (palette PNGs), `ImageSets/Segmentation/<split>.txt`.
        case voc
        /// SegNet's CamVid layout: `train/`, `trainannot/`, `val/`, `valannot/`, `test/`, `testannot/`.
        case camvid
        /// `images/` + `masks/` (or `labels/`, `annotations/`) matched by file stem; a plain
        /// folder of images alone is an unlabeled split (calibration data).
        case folder
    }

    public struct Sample: Sendable, Equatable {
        /// Absolute paths.
        public var image: String
        public var label: String?
    }

    /// Files a dataset names but that cannot be read.
    public struct Problems: Sendable, Equatable {
        public var missingCount = 0
        public var firstMissing: [String] = []
        public var malformedLines: [String] = []

        mutating func missing(_ path: String) {
            missingCount += 1
            if firstMissing.count < 5 { firstMissing.append(path) }
        }

        public var isEmpty: Bool { missingCount == 0 && malformedLines.isEmpty }
    }

    public var root: String
    public var format: Format
    /// Split name → samples, in file order.
    public var splits: [String: [Sample]]
    public var classes: [String]
    /// RGB per class.
    public var palette: [[UInt8]]
    public var ignoreIndex: Int
    /// How stored label values become class ids (Cityscapes labelIds → trainIds); nil = identity.
    public var labelMapping: [UInt8]?
    public var problems: Problems

    public var numClasses: Int { classes.count }
    public var splitNames: [String] { splits.keys.sorted() }
}

public enum DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    case unrecognized(String, tried: [String])
    case invalid(String, String)
    case unknownSplit(String, available: [String])

    public var description: String {
        switch self {
        case .notFound(let p): return "no such dataset folder: \(p)"
        case .unrecognized(let p, let tried):
            return "\(p) is not a dataset SegSlim recognises (looked for: \(tried.joined(separator: "; ")))"
        case .invalid(let file, let why): return "\(file): \(why)"
        case .unknownSplit(let s, let available): return "no split '\(s)' (splits: \(available.joined(separator: ", ")))"
        }
    }
}
