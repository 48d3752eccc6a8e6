import Foundation

/// A segmentation dataset on disk: named splits of (image, label?) samples plus what the
/// labels mean. Opening one only lists and checks files; images are decoded when used.
package struct Dataset: Sendable, Equatable {
    package enum Format: String, Sendable, CaseIterable {
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

    package struct Sample: Sendable, Equatable {
        /// Absolute paths.
        package var image: String
        package var label: String?
    }

    /// Files a dataset names but that cannot be read.
    package struct Problems: Sendable, Equatable {
        package var missingCount = 0
        package var firstMissing: [String] = []
        package var malformedLines: [String] = []

        mutating func missing(_ path: String) {
            missingCount += 1
            if firstMissing.count < 5 { firstMissing.append(path) }
        }

        package var isEmpty: Bool { missingCount == 0 && malformedLines.isEmpty }
    }

    package var root: String
    package var format: Format
    /// Split name → samples, in file order.
    package var splits: [String: [Sample]]
    package var classes: [String]
    /// RGB per class.
    package var palette: [[UInt8]]
    package var ignoreIndex: Int
    /// How stored label values become class ids (Cityscapes labelIds → trainIds); nil = identity.
    package var labelMapping: [UInt8]?
    package var problems: Problems

    package var numClasses: Int { classes.count }
    package var splitNames: [String] { splits.keys.sorted() }
}

package enum DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    case unrecognized(String, tried: [String])
    case invalid(String, String)
    case unknownSplit(String, available: [String])

    package var description: String {
        switch self {
        case .notFound(let p): return "no such dataset folder: \(p)"
        case .unrecognized(let p, let tried):
            return "\(p) is not a dataset SegSlim recognises (looked for: \(tried.joined(separator: "; ")))"
        case .invalid(let file, let why): return "\(file): \(why)"
        case .unknownSplit(let s, let available): return "no split '\(s)' (splits: \(available.joined(separator: ", ")))"
        }
    }
}
