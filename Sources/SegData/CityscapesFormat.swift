import Foundation

/// Cityscapes: `leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png` with
/// `gtFine/<split>/<city>/<stem>_gtFine_labelIds.png`, labelIds mapped to the 19 trainIds.
enum CityscapesFormat {
    static let classes = ["road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
                          "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
                          "motorcycle", "bicycle"]
    static let palette: [[UInt8]] = [
        [128, 64, 128], [244, 35, 232], [70, 70, 70], [102, 102, 156], [190, 153, 153], [153, 153, 153],
        [250, 170, 30], [220, 220, 0], [107, 142, 35], [152, 251, 152], [70, 130, 180], [220, 20, 60],
        [255, 0, 0], [0, 0, 142], [0, 0, 70], [0, 60, 100], [0, 80, 100], [0, 0, 230], [119, 11, 32],
    ]

    /// labelId → trainId (255 = ignored), from the Cityscapes label definitions.
    static let labelToTrain: [UInt8] = {
        var map = [UInt8](repeating: 255, count: 256)
        let pairs: [(Int, UInt8)] = [(7, 0), (8, 1), (11, 2), (12, 3), (13, 4), (17, 5), (19, 6), (20, 7), (21, 8), (22, 9),
                                     (23, 10), (24, 11), (25, 12), (26, 13), (27, 14), (28, 15), (31, 16), (32, 17), (33, 18)]
        for (id, train) in pairs { map[id] = train }
        return map
    }()

    static func open(_ root: String) throws(DatasetError) -> Dataset {
        let fm = FileManager.default
        let images = (root as NSString).appendingPathComponent("leftImg8bit")
        var splits: [String: [Dataset.Sample]] = [:]
        for split in ((try? fm.contentsOfDirectory(atPath: images)) ?? []).sorted() where !split.hasPrefix(".") {
            var samples: [Dataset.Sample] = []
            let splitDir = (images as NSString).appendingPathComponent(split)
            for city in ((try? fm.contentsOfDirectory(atPath: splitDir)) ?? []).sorted() where !city.hasPrefix(".") {
                let cityDir = (splitDir as NSString).appendingPathComponent(city)
                for file in ((try? fm.contentsOfDirectory(atPath: cityDir)) ?? []).sorted() where file.hasSuffix("_leftImg8bit.png") {
                    let stem = String(file.dropLast("_leftImg8bit.png".count))
                    let label = [root, "gtFine", split, city, stem + "_gtFine_labelIds.png"].joined(separator: "/")
                    // The test split ships without usable labels.
                    samples.append(.init(image: (cityDir as NSString).appendingPathComponent(file),
                                         label: fm.fileExists(atPath: label) ? label : nil))
                }
            }
            if !samples.isEmpty { splits[split] = samples }
        }
        guard !splits.isEmpty else { throw .invalid(images, "no <split>/<city>/*_leftImg8bit.png images") }
        return Dataset(root: root, format: .cityscapes, splits: splits, classes: classes, palette: palette,
                       ignoreIndex: 255, labelMapping: labelToTrain, problems: .init())
    }
}
