import Foundation
import SegGraph
import SegImaging

/// How images become a model's input and its output becomes a mask: what travels with the
/// model in `metadata_props` under `segslim.*` keys (documented in protocol/README.md).
///
/// | key | value |
/// |---|---|
/// | `segslim.input_size` | `"H,W"`: the size images are resized to (default: the input's static H, W) |
/// | `segslim.resize` | `stretch` (bilinear to input_size, the default), `pad` (scaled to fit input_size keeping its aspect ratio, zeros below and right; outputs cropped back) or `none` (run at the image's own size) |
/// | `segslim.mean`, `segslim.std` | JSON arrays, per channel, applied to pixel·scale (default ImageNet) |
/// | `segslim.scale` | number, default 1/255 |
/// | `segslim.channel_order` | `RGB` (default) or `BGR` |
/// | `segslim.classes` | JSON array of class names |
/// | `segslim.palette` | JSON array of `[r, g, b]` |
/// | `segslim.ignore_index` | integer, default 255 |
package struct Preprocessing: Sendable, Equatable {
    package enum Resize: String, Sendable, CaseIterable {
        /// Bilinear to `inputSize`, aspect ratio not kept.
        case stretch
        /// Scaled (bilinear) to fit `inputSize` with the aspect ratio kept, at the top left;
        /// the rest is zeros after normalisation (Detectron2's and HF's Mask2Former padding).
        /// Outputs are cropped to the image's part before they are resized back.
        case pad
        /// The image's own size.
        case none
    }

    package var inputName: String
    package var inputSize: (height: Int, width: Int)?
    package var resize: Resize
    package var mean: [Float]
    package var std: [Float]
    package var scale: Float
    package var bgr: Bool
    package var classes: [String]
    package var palette: [[UInt8]]
    package var ignoreIndex: Int
    /// Keys (without `segslim.`) neither the model's metadata nor the overrides gave, so
    /// their defaults are assumed; `metadata` leaves them out, so a copy of the model still
    /// says what it was never told.
    package var defaulted: Set<String> = []

    package static func == (a: Preprocessing, b: Preprocessing) -> Bool {
        a.inputName == b.inputName && a.inputSize?.height == b.inputSize?.height && a.inputSize?.width == b.inputSize?.width
            && a.resize == b.resize && a.mean == b.mean && a.std == b.std && a.scale == b.scale && a.bgr == b.bgr
            && a.classes == b.classes && a.palette == b.palette && a.ignoreIndex == b.ignoreIndex
    }

    package static let imagenetMean: [Float] = [0.485, 0.456, 0.406]
    package static let imagenetStd: [Float] = [0.229, 0.224, 0.225]

    /// From the model's metadata and its input, then `overrides` (same keys without the
    /// `segslim.` prefix, as given to `model/load`).
    package init(model: Model, numClasses: Int?, overrides: [String: String] = [:]) throws(PipelineError) {
        guard let input = model.graph.runtimeInputs.first else { throw .model("the model has no runtime input") }
        inputName = input.name
        var meta: [String: String] = [:]
        for (k, v) in model.metadata where k.hasPrefix("segslim.") { meta[String(k.dropFirst(8))] = v }
        for (k, v) in overrides { meta[k] = v }
        defaulted = Set(Self.defaultable.filter { meta[$0] == nil })

        let dims = input.type?.shape ?? []
        let staticHW: (Int, Int)? = {
            guard dims.count == 4, case .value(let h) = dims[2], case .value(let w) = dims[3] else { return nil }
            return (h, w)
        }()
        if let s = meta["input_size"] {
            let parts = s.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, parts.allSatisfy({ $0 > 0 && $0 <= 16384 }) else {
                throw .metadata("input_size", "expected \"H,W\" with positive sizes, got \"\(s)\"")
            }
            inputSize = (parts[0], parts[1])
        } else {
            inputSize = staticHW.map { (height: $0.0, width: $0.1) }
        }
        let resizeName = meta["resize"] ?? (inputSize == nil ? "none" : "stretch")
        guard let r = Resize(rawValue: resizeName) else { throw .metadata("resize", "expected stretch, pad or none, got \"\(resizeName)\"") }
        resize = r
        if resize != .none && inputSize == nil {
            throw .metadata("resize", "\(resizeName) needs an input size: the model's input has no static H, W; set segslim.input_size")
        }
        mean = try Self.floats(meta["mean"], key: "mean") ?? Self.imagenetMean
        std = try Self.floats(meta["std"], key: "std") ?? Self.imagenetStd
        guard mean.count == 3, std.count == 3, !std.contains(0) else { throw .metadata("mean/std", "need 3 values each, std non-zero") }
        if let s = meta["scale"] {
            guard let v = Float(s), v > 0 else { throw .metadata("scale", "expected a positive number, got \"\(s)\"") }
            scale = v
        } else {
            scale = 1 / 255
        }
        switch (meta["channel_order"] ?? "RGB").uppercased() {
        case "RGB": bgr = false
        case "BGR": bgr = true
        case let other: throw .metadata("channel_order", "expected RGB or BGR, got \"\(other)\"")
        }
        if let c = meta["classes"] {
            guard let data = c.data(using: .utf8), let names = (try? JSONSerialization.jsonObject(with: data)) as? [String] else {
                throw .metadata("classes", "expected a JSON array of strings")
            }
            classes = names
        } else {
            classes = (0..<(numClasses ?? 0)).map { "class \($0)" }
        }
        if let p = meta["palette"] {
            guard let data = p.data(using: .utf8), let rows = (try? JSONSerialization.jsonObject(with: data)) as? [[Int]],
                  rows.allSatisfy({ $0.count == 3 && $0.allSatisfy { (0...255).contains($0) } }) else {
                throw .metadata("palette", "expected a JSON array of [r, g, b] with values 0...255")
            }
            palette = rows.map { $0.map(UInt8.init) }
        } else {
            palette = DefaultPalette.colors(classes.count)
        }
        if let s = meta["ignore_index"] {
            guard let v = Int(s), (0...255).contains(v) else { throw .metadata("ignore_index", "expected an integer 0...255, got \"\(s)\"") }
            ignoreIndex = v
        } else {
            ignoreIndex = 255
        }
    }

    /// The keys with a conventional default (ImageNet statistics, `class N` names, ...), as
    /// opposed to `input_size` and `resize`, which the model's own input decides.
    package static let defaultable = ["mean", "std", "scale", "channel_order", "classes", "palette", "ignore_index"]

    /// The model input's size for an image of `height`×`width`, and the top-left part of it the
    /// image covers (all of it unless padding).
    package func inputGeometry(height: Int, width: Int) -> (input: (height: Int, width: Int), content: (height: Int, width: Int)) {
        guard resize != .none, let size = inputSize else { return ((height, width), (height, width)) }
        guard resize == .pad else { return (size, size) }
        let scale = min(Double(size.height) / Double(max(height, 1)), Double(size.width) / Double(max(width, 1)))
        let h = min(size.height, max(1, Int((Double(height) * scale).rounded())))
        let w = min(size.width, max(1, Int((Double(width) * scale).rounded())))
        return (size, (h, w))
    }

    /// Whether the image → tensor mapping is only a guess (no mean/std in the metadata).
    package var assumesNormalization: Bool { defaulted.contains("mean") || defaulted.contains("std") }

    static func floats(_ s: String?, key: String) throws(PipelineError) -> [Float]? {
        guard let s else { return nil }
        guard let data = s.data(using: .utf8), let values = (try? JSONSerialization.jsonObject(with: data)) as? [Double] else {
            throw .metadata(key, "expected a JSON array of numbers, got \"\(s)\"")
        }
        return values.map(Float.init)
    }

    /// The metadata entries that reproduce this preprocessing (written into exported models):
    /// what was given, not the defaults filled in for what was not.
    package var metadata: [String: String] {
        func json(_ v: Any) -> String {
            (try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        var m: [String: String] = [
            "segslim.resize": resize.rawValue,
            "segslim.mean": json(mean.map(Double.init)), "segslim.std": json(std.map(Double.init)),
            "segslim.scale": "\(scale)", "segslim.channel_order": bgr ? "BGR" : "RGB",
            "segslim.classes": json(classes), "segslim.palette": json(palette.map { $0.map(Int.init) }),
            "segslim.ignore_index": "\(ignoreIndex)",
        ]
        if let s = inputSize { m["segslim.input_size"] = "\(s.height),\(s.width)" }
        for key in defaulted { m["segslim." + key] = nil }
        return m
    }
}

enum DefaultPalette {
    /// `Palette.visible`: VOC's colours with class 0 visible (not black).
    static func colors(_ n: Int) -> [[UInt8]] { Palette.visible(count: n).map { [$0.r, $0.g, $0.b] } }
}

package enum PipelineError: Error, Sendable, Equatable, CustomStringConvertible {
    case metadata(String, String)
    case model(String)
    case image(String, String)

    package var description: String {
        switch self {
        case .metadata(let key, let why): return "preprocessing '\(key)': \(why)"
        case .model(let why): return why
        case .image(let path, let why): return "\(path): \(why)"
        }
    }
}
