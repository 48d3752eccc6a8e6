import Foundation

/// What a dataset's labels mean, without listing its samples: the class names and colours a
/// model is annotated with, or a segment request shows.
package struct DatasetClasses: Sendable, Equatable {
    package var names: [String]
    /// RGB per class.
    package var palette: [[UInt8]]

    package init(names: [String], palette: [[UInt8]]) {
        self.names = names
        self.palette = palette
    }

    /// From a `dataset.json` file (any name), or a dataset folder: its `dataset.json` when it has
    /// one, else the classes its format implies (VOC, Cityscapes, CamVid). A file without class
    /// names (only `num_classes`) is an error: naming classes is the point.
    package static func read(path: String) throws(DatasetError) -> DatasetClasses {
        let url = URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { throw .notFound(url.path) }
        if !isDir.boolValue || FileManager.default.fileExists(atPath: url.appendingPathComponent("dataset.json").path) {
            let file = isDir.boolValue ? url.appendingPathComponent("dataset.json").path : url.path
            guard let data = FileManager.default.contents(atPath: file) else { throw .invalid(file, "cannot be read") }
            let meta = try DatasetMetadata.parse(data, path: file)
            guard let names = meta.classes, !names.isEmpty else { throw .invalid(file, "has no \"classes\" (an array of class names)") }
            return DatasetClasses(names: names, palette: try fitted(meta.palette, names.count, file: file))
        }
        let dataset = try Dataset.open(path: url.path)
        // Only these formats name their classes themselves; the others would give `class N`.
        guard [.voc, .cityscapes, .camvid].contains(dataset.format) else {
            throw .invalid(url.path, "has no dataset.json naming its classes")
        }
        return DatasetClasses(names: dataset.classes, palette: dataset.palette)
    }

    /// A palette with one colour per class: the file's, which must cover every class, or the
    /// default.
    static func fitted(_ palette: [[UInt8]]?, _ count: Int, file: String) throws(DatasetError) -> [[UInt8]] {
        guard let palette else { return DatasetMetadata.defaultPalette(count) }
        guard palette.count >= count else {
            throw .invalid(file, "\"palette\" has \(palette.count) colours for \(count) classes")
        }
        return Array(palette.prefix(count))
    }
}
