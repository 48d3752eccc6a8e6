import Foundation
import SegData
import SegGraph
import SegImaging
import SegPipeline
import SegProtocol

/// Class names and colours from outside the model (`model/segment`'s and `model/annotate`'s
/// `classes`), and the warnings a request carries when it has to assume defaults instead.
extension ServerCore {
    /// The names and palette a `ClassesSource` stands for: inline, an open dataset's id, a
    /// dataset folder or a `dataset.json` file.
    func classLabels(_ source: ClassesSource, field: String) async throws -> DatasetClasses {
        switch source {
        case .inline(let names, let palette):
            guard !names.isEmpty else { throw ResponseError.invalidParams("\(field).names: expected at least one class name") }
            guard let palette else { return DatasetClasses(names: names, palette: Self.defaultPalette(names.count)) }
            guard palette.count >= names.count else {
                throw ResponseError.invalidParams("\(field).palette: \(palette.count) colours for \(names.count) classes")
            }
            return DatasetClasses(names: names, palette: palette.prefix(names.count).map { $0.map { UInt8(clamping: $0) } })
        case .path(let value):
            let path = FilePaths.absolute(value)
            if !FileManager.default.fileExists(atPath: path), let open = try? await datasets.get(value) {
                return DatasetClasses(names: open.classes, palette: open.palette)
            }
            do { return try DatasetClasses.read(path: path) } catch {
                if case .notFound = error {
                    throw ResponseError(.fileNotFound, "\(field): '\(value)' is neither a dataset folder, a dataset.json nor an open dataset id")
                }
                throw ResponseError(.datasetError, "\(field): \(error)")
            }
        }
    }

    static func defaultPalette(_ count: Int) -> [[UInt8]] { Palette.visible(count: count).map { [$0.r, $0.g, $0.b] } }

    /// Names for a model that predicts `expected` classes (nil: unknown): a different count is
    /// the request's mistake, caught before any work.
    static func check(_ labels: DatasetClasses, fits expected: Int?, model id: String, field: String) throws {
        if let expected, labels.names.count != expected {
            throw ResponseError.invalidParams("\(field): \(labels.names.count) class names but model '\(id)' predicts \(expected) classes")
        }
    }

    /// What a request assumed for the model because its metadata does not say: normalization
    /// (always matters) and class names (only where they are shown and none were given).
    static func defaultWarnings(_ pre: Preprocessing, model id: String, namesShown: Bool) -> [String] {
        var out: [String] = []
        if pre.assumesNormalization {
            let mean = pre.mean.map { String(format: "%g", $0) }.joined(separator: ", ")
            let std = pre.std.map { String(format: "%g", $0) }.joined(separator: ", ")
            out.append("model '\(id)' does not say how it normalizes images (no segslim.mean/segslim.std): assumed mean [\(mean)], "
                       + "std [\(std)] on \(pre.bgr ? "BGR" : "RGB") pixels × \(abs(pre.scale - 1 / 255) < 1e-9 ? "1/255" : String(format: "%g", pre.scale)); if it was trained otherwise "
                       + "its masks are wrong; record the right values with model/annotate")
        }
        if namesShown && pre.defaulted.contains("classes") {
            out.append("model '\(id)' does not name its classes (no segslim.classes): shown as 'class 0'...'class \(max(pre.classes.count - 1, 0))'; "
                       + "pass params.classes, or record them with model/annotate")
        }
        return out
    }
}

extension ServerCore {
    /// A compressed (or trained) model made with a dataset keeps that dataset's class names and palette,
    /// so segmenting it later shows names without being told: only where the source model
    /// names none itself and the dataset's classes are as many as the model predicts.
    func recordDatasetClasses(_ datasetName: String?, source: ModelStore.Entry, into model: inout Model) async throws {
        guard let name = datasetName, let pre = source.preprocessing, pre.defaulted.contains("classes") else { return }
        let (_, dataset) = try await dataset(name)
        guard !dataset.classes.isEmpty, dataset.classes.count == ImageModel.classCount(source.summary) ?? pre.classes.count else { return }
        model.metadata["segslim.classes"] = Self.json(dataset.classes)
        if pre.defaulted.contains("palette") { model.metadata["segslim.palette"] = Self.json(dataset.palette.map { $0.map(Int.init) }) }
    }
}
