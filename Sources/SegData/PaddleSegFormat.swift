import Foundation
import SegImaging

/// PaddleSeg list files: every `<split>.txt` in the folder is a split, whatever its name.
/// Each line is `image label` (paths relative to the folder, separated by whitespace), or just
/// `image` for an unlabeled sample. `dataset.json` (optional) gives names, palette, ignore index.
enum PaddleSegFormat {
    static func open(_ root: String) throws(DatasetError) -> Dataset {
        let fm = FileManager.default
        let files = ((try? fm.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasSuffix(".txt") && !$0.hasPrefix(".") }.sorted()
        var splits: [String: [Dataset.Sample]] = [:]
        var problems = Dataset.Problems()
        for file in files {
            let path = (root as NSString).appendingPathComponent(file)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw .invalid(path, "cannot read it as UTF-8 text")
            }
            var samples: [Dataset.Sample] = []
            for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
                let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                if fields.isEmpty { continue }
                guard fields.count <= 2 else {
                    if problems.malformedLines.count < 5 { problems.malformedLines.append("\(path):\(n + 1): expected 'image [label]', got \(fields.count) fields") }
                    continue
                }
                samples.append(.init(image: resolve(fields[0], root), label: fields.count == 2 ? resolve(fields[1], root) : nil))
            }
            splits[String(file.dropLast(4))] = samples
        }
        let meta = try DatasetMetadata.read(root)
        let numClasses = meta.classes?.count ?? meta.numClasses ?? 0
        return Dataset(root: root, format: .paddleseg, splits: splits,
                       classes: meta.classes ?? (0..<numClasses).map { "class \($0)" },
                       palette: meta.palette ?? DatasetMetadata.defaultPalette(numClasses),
                       ignoreIndex: meta.ignoreIndex ?? 255, labelMapping: nil, problems: problems)
    }

    static func resolve(_ p: String, _ root: String) -> String {
        p.hasPrefix("/") ? p : URL(fileURLWithPath: root).appendingPathComponent(p).standardizedFileURL.path
    }
}

/// `dataset.json`: `{"classes": [...], "num_classes": N, "palette": [[r,g,b], ...], "ignore_index": 255}`.
struct DatasetMetadata {
    var classes: [String]?
    var numClasses: Int?
    var palette: [[UInt8]]?
    var ignoreIndex: Int?

    static func read(_ root: String) throws(DatasetError) -> DatasetMetadata {
        let path = (root as NSString).appendingPathComponent("dataset.json")
        guard let data = FileManager.default.contents(atPath: path) else { return DatasetMetadata() }
        return try parse(data, path: path)
    }

    static func parse(_ data: Data, path: String) throws(DatasetError) -> DatasetMetadata {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .invalid(path, "not a JSON object")
        }
        var m = DatasetMetadata()
        if let c = object["classes"] {
            guard let names = c as? [String] else { throw .invalid(path, "\"classes\" must be an array of strings") }
            m.classes = names
        }
        if let n = object["num_classes"] {
            guard let v = n as? Int, v > 0, v <= 256 else { throw .invalid(path, "\"num_classes\" must be an integer in 1...256") }
            m.numClasses = v
        }
        if let p = object["palette"] {
            guard let rows = p as? [[Int]], rows.allSatisfy({ $0.count == 3 && $0.allSatisfy { (0...255).contains($0) } }) else {
                throw .invalid(path, "\"palette\" must be an array of [r, g, b] with values 0...255")
            }
            m.palette = rows.map { $0.map(UInt8.init) }
        }
        if let i = object["ignore_index"] {
            guard let v = i as? Int, (0...255).contains(v) else { throw .invalid(path, "\"ignore_index\" must be an integer in 0...255") }
            m.ignoreIndex = v
        }
        if let classes = m.classes, let n = m.numClasses, classes.count != n {
            throw .invalid(path, "\"classes\" has \(classes.count) names but \"num_classes\" is \(n)")
        }
        return m
    }

    /// PaddleSeg's default palette (PASCAL VOC's colour map) for `n` classes.
    static func defaultPalette(_ n: Int) -> [[UInt8]] {
        Palette.visible(count: n).map { [$0.r, $0.g, $0.b] }
    }
}
