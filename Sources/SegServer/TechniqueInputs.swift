import Foundation
import SegData
import SegGraph
import SegImaging
import SegPipeline
import SegProtocol
import SegRuntime
import SegTechnique
import SegTensor

/// Builds what a technique may use from a request: calibration samples
/// (`calibration: {split, count}` of `dataset`, or `calibration: {path}` for a folder of
/// unlabelled images) and an accuracy probe (`dataset` + `split`).
extension ServerCore {
    /// Images per calibration when the caller does not say.
    static let defaultCalibrationCount = 100

    struct TechniqueInputs {
        var samples: SampleSource?
        var accuracy: AccuracyProbe?
        /// For reports: where calibration and accuracy data came from.
        var json: JSONValue
    }

    func techniqueInputs(_ p: ParamReader, source: ModelStore.Entry, threads: Int?) async throws -> TechniqueInputs {
        let datasetValue = try p.optionalString("dataset")
        var opened: (String, Dataset)? = nil
        if let datasetValue { opened = try await dataset(datasetValue) }
        var json: [String: JSONValue] = [:]
        // Both need the source model's preprocessing (image → input tensor, mask → score).
        let needsImages = opened != nil || p.fields["calibration"] != nil
        guard needsImages else { return TechniqueInputs(samples: nil, accuracy: nil, json: [:]) }
        let segmenter = try segmenter(for: source)

        var samples: SampleSource? = nil
        let calibration = try p.optionalObject("calibration")
        try calibration?.rejectUnknown(allowed: ["split", "count", "path"])
        let count = Int(try calibration?.optionalInt("count", range: 1...100_000) ?? Int64(Self.defaultCalibrationCount))
        if let folder = try calibration?.optionalString("path") {
            let files = try Self.imageFiles(in: folder, field: "params.calibration.path")
            let chosen = Self.spread(files, count: count)
            samples = Self.sampleSource(chosen.map { path in { try ImageIO.load(path: path) } }, segmenter: segmenter,
                                        origin: "\(chosen.count) images of \(folder)")
            json["calibration"] = ["path": .string(folder), "count": .int(Int64(chosen.count))]
        } else if let (_, dataset) = opened {
            let split = try calibration?.optionalString("split") ?? dataset.defaultCalibrationSplit ?? "train"
            guard let all = dataset.splits[split], !all.isEmpty else {
                throw ResponseError(.datasetError, "params.calibration.split: no split '\(split)' with images in \(dataset.root) (splits: \(dataset.splitNames.joined(separator: ", ")))")
            }
            let chosen = Self.spread(all, count: count)
            samples = Self.sampleSource(chosen.map { s in { try dataset.load(s).image } }, segmenter: segmenter,
                                        origin: "\(chosen.count) images of \(split) in \(dataset.root)")
            json["calibration"] = ["split": .string(split), "count": .int(Int64(chosen.count)), "of": .int(Int64(all.count))]
        } else if calibration != nil {
            throw ResponseError.invalidParams("params.calibration: give calibration.path (a folder of images) or params.dataset")
        }

        var accuracy: AccuracyProbe? = nil
        if let (_, dataset) = opened {
            let split = try p.optionalString("split") ?? (dataset.splits["val"] != nil ? "val" : dataset.splitNames.first ?? "val")
            let labelled = dataset.splits[split]?.filter { $0.label != nil }.count ?? 0
            if labelled > 0 {
                let preprocessing = segmenter.preprocessing, output = segmenter.outputName, head = segmenter.maskClassification
                accuracy = AccuracyProbe(split: split, count: labelled) { model, limit in
                    let runner = CompiledRunner(model: model, compiler: Compiler(threads: threads))
                    let candidate = Segmenter(runner: runner, preprocessing: preprocessing, outputName: output, maskClassification: head)
                    let r = try await Evaluator(segmenter: candidate, dataset: dataset).evaluate(split: split, limit: limit)
                    return AccuracyScore(miou: r.metrics.miou, pixelAccuracy: r.metrics.pixelAccuracy, classIoU: r.metrics.classIoU, images: r.images)
                }
                json["accuracy"] = ["split": .string(split), "images": .int(Int64(labelled))]
            }
        }
        return TechniqueInputs(samples: samples, accuracy: accuracy, json: .object(json))
    }

    static func sampleSource(_ loaders: [@Sendable () throws -> Image], segmenter: Segmenter, origin: String) -> SampleSource {
        SampleSource(count: loaders.count, origin: origin) { index in
            guard loaders.indices.contains(index) else { throw ResponseError.invalidParams("calibration sample \(index) is out of range") }
            return try segmenter.inputs(for: try loaders[index]())
        }
    }

    /// `count` items spread evenly over the list (all of it when shorter): CamVid-like splits
    /// are video sequences, and the first N frames would all come from one street.
    static func spread<T>(_ items: [T], count: Int) -> [T] {
        guard items.count > count else { return items }
        return (0..<count).map { items[$0 * items.count / count] }
    }

    /// JPEG and PNG files in a folder (not recursive), sorted by name.
    static func imageFiles(in folder: String, field: String) throws -> [String] {
        let root = FilePaths.absolute(folder)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw ResponseError(.fileNotFound, "\(field): '\(folder)' is not a folder")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        let images = names.filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        guard !images.isEmpty else { throw ResponseError(.datasetError, "\(field): no .jpg/.jpeg/.png images in \(root)") }
        return images.map { (root as NSString).appendingPathComponent($0) }
    }
}
