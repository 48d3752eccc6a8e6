import Foundation

/// Pascal VOC: `ImageSets/Segmentation/<split>.txt` lists stems; images in `JPEGImages/`,
/// labels as palette PNGs in `SegmentationClass/` (palette indices are the class ids, 255 void).
enum VOCFormat {
    static let classes = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
                          "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
                          "train", "tvmonitor"]

    static func open(_ root: String) throws(DatasetError) -> Dataset {
        let fm = FileManager.default
        let lists = (root as NSString).appendingPathComponent("ImageSets/Segmentation")
        var splits: [String: [Dataset.Sample]] = [:]
        for file in ((try? fm.contentsOfDirectory(atPath: lists)) ?? []).sorted() where file.hasSuffix(".txt") {
            let path = (lists as NSString).appendingPathComponent(file)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .invalid(path, "cannot read it as UTF-8 text") }
            let stems = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            splits[String(file.dropLast(4))] = stems.map { stem in
                .init(image: [root, "JPEGImages", stem + ".jpg"].joined(separator: "/"),
                      label: [root, "SegmentationClass", stem + ".png"].joined(separator: "/"))
            }
        }
        guard !splits.isEmpty else { throw .invalid(lists, "no <split>.txt lists") }
        return Dataset(root: root, format: .voc, splits: splits, classes: classes,
                       palette: DatasetMetadata.defaultPalette(classes.count), ignoreIndex: 255, labelMapping: nil, problems: .init())
    }
}
