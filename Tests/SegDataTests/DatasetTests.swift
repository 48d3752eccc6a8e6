import Foundation
import SegImaging
import SegTestSupport
import Testing
@testable import SegData

/// Builds tiny datasets on disk in each layout and opens them.
@Suite struct DatasetTests {
    let root: URL

    init() throws {
        root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    func write(_ relative: String, image: Image) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(try PNG.encode(image)).write(to: url)
    }

    func write(_ relative: String, text: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func rgb() throws -> Image { try Image(width: 4, height: 3, channels: 3, fill: 100) }
    func label(_ values: [UInt8]) throws -> Image { try Image(width: 4, height: 3, channels: 1, pixels: values) }

    @Test func paddleSegListsEverySplitFileAndReportsProblems() throws {
        try write("img/a.png", image: rgb())
        try write("lab/a.png", image: label([UInt8](repeating: 1, count: 12)))
        try write("img/b.png", image: rgb())
        try write("train.txt", text: "img/a.png lab/a.png\nimg/b.png\n\n")
        try write("my_custom.txt", text: "img/a.png lab/missing.png\nimg/a.png lab/a.png extra\n")
        try write("dataset.json", text: #"{"classes": ["bg", "fg"], "palette": [[0,0,0],[255,0,0]], "ignore_index": 255}"#)
        let d = try Dataset.open(path: root.path)
        #expect(d.format == .paddleseg)
        #expect(d.splitNames == ["my_custom", "train"])
        #expect(d.splits["train"]?.count == 2)
        #expect(d.splits["train"]?[1].label == nil)  // image-only line: unlabeled sample
        #expect(d.classes == ["bg", "fg"])
        #expect(d.palette == [[0, 0, 0], [255, 0, 0]])
        #expect(d.problems.missingCount == 1)
        #expect(d.problems.firstMissing.first?.hasSuffix("lab/missing.png") == true)
        #expect(d.problems.malformedLines.count == 1)
        #expect(d.problems.malformedLines.first?.contains("my_custom.txt:2") == true)
        let (image, lab) = try d.load(try #require(d.splits["train"]?[0]))
        #expect(image.width == 4 && lab?.pixels.allSatisfy { $0 == 1 } == true)
        #expect(d.defaultCalibrationSplit == "train")
    }

    @Test func cityscapesMapsLabelIdsToTrainIds() throws {
        try write("leftImg8bit/val/aachen/x_000001_leftImg8bit.png", image: rgb())
        try write("gtFine/val/aachen/x_000001_gtFine_labelIds.png", image: label([7, 8, 26, 0, 33, 1, 7, 7, 7, 7, 7, 7]))
        let d = try Dataset.open(path: root.path)
        #expect(d.format == .cityscapes)
        #expect(d.numClasses == 19)
        let (_, lab) = try d.load(try #require(d.splits["val"]?.first))
        #expect(Array(lab?.pixels.prefix(6) ?? []) == [0, 1, 13, 255, 18, 255])
    }

    @Test func vocAndFolderLayouts() throws {
        try write("voc/JPEGImages/2007_1.png", image: rgb())
        try write("voc/SegmentationClass/2007_1.png", image: label([UInt8](repeating: 0, count: 12)))
        try write("voc/ImageSets/Segmentation/val.txt", text: "2007_1\n")
        let voc = try Dataset.open(path: root.appendingPathComponent("voc").path)
        #expect(voc.format == .voc)
        #expect(voc.numClasses == 21)
        #expect(voc.splits["val"]?.first?.image.hasSuffix("JPEGImages/2007_1.jpg") == true)
        #expect(voc.problems.missingCount == 1)  // the .jpg does not exist: reported at open

        try write("plain/images/p1.png", image: rgb())
        try write("plain/images/p2.png", image: rgb())
        try write("plain/masks/p1.png", image: label([UInt8](repeating: 2, count: 12)))
        let plain = try Dataset.open(path: root.appendingPathComponent("plain").path)
        #expect(plain.format == .folder)
        #expect(plain.splits["all"]?.map { $0.label != nil } == [true, false])

        // Per-split subfolders: images/train with masks/train (each split's own mask folder).
        try write("split/images/train/t1.png", image: rgb())
        try write("split/masks/train/t1.png", image: label([UInt8](repeating: 1, count: 12)))
        try write("split/images/val/v1.png", image: rgb())
        try write("split/masks/val/v1.png", image: label([UInt8](repeating: 0, count: 12)))
        let split = try Dataset.open(path: root.appendingPathComponent("split").path)
        #expect(split.splits["train"]?.first?.label?.hasSuffix("masks/train/t1.png") == true)
        #expect(split.splits["val"]?.first?.label?.hasSuffix("masks/val/v1.png") == true)

        try write("unlabeled/x.png", image: rgb())
        let unlabeled = try Dataset.open(path: root.appendingPathComponent("unlabeled").path)
        #expect(unlabeled.splits["all"]?.count == 1)
        #expect(unlabeled.splits["all"]?.first?.label == nil)
    }

    @Test func camvidLayout() throws {
        try write("cv/train/0001.png", image: rgb())
        try write("cv/trainannot/0001.png", image: label([UInt8](repeating: 3, count: 12)))
        try write("cv/val/0002.png", image: rgb())
        let d = try Dataset.open(path: root.appendingPathComponent("cv").path)
        #expect(d.format == .camvid)
        #expect(d.numClasses == 11)
        let val = try #require(d.splits["val"])
        #expect(val.count == 1 && val[0].label == nil)
    }

    @Test func badDatasetsAreClearErrors() throws {
        #expect(throws: DatasetError.notFound("/no/such/dataset")) { try Dataset.open(path: "/no/such/dataset") }
        try write("empty/readme.md", text: "hi")
        #expect(throws: DatasetError.self) { try Dataset.open(path: root.appendingPathComponent("empty").path) }
        try write("badjson/train.txt", text: "a.png b.png\n")
        try write("badjson/dataset.json", text: #"{"classes": ["a"], "num_classes": 3}"#)
        do {
            _ = try Dataset.open(path: root.appendingPathComponent("badjson").path)
            Issue.record("inconsistent dataset.json accepted")
        } catch {
            #expect(error.description.contains("dataset.json"))
        }
        try write("sizes/img/a.png", image: rgb())
        try write("sizes/lab/a.png", image: try Image(width: 2, height: 2, channels: 1, fill: 0))
        try write("sizes/train.txt", text: "img/a.png lab/a.png\n")
        let d = try Dataset.open(path: root.appendingPathComponent("sizes").path)
        #expect(throws: DatasetError.self) { try d.load(try #require(d.splits["train"]?.first)) }
        #expect(throws: DatasetError.unknownSplit("test", available: ["train"])) { try d.samples(split: "test") }
    }

    @Test(.requires(SharedAssets.requirement("data/camvid/val.txt")))
    func sharedCamVidOpens() throws {
        let d = try Dataset.open(path: SharedAssets.path("data/camvid"))
        #expect(d.format == .paddleseg)
        #expect(d.splits["train"]?.count == 367)
        #expect(d.splits["val"]?.count == 101)
        #expect(d.classes.first == "sky")
        #expect(d.problems.isEmpty)
    }
}
