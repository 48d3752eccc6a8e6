import Foundation

/// The light-mode ladder the demo shows: the bundled model and what SegSlim's techniques made
/// from it, each with the recipe that made it and its val mIoU on the full CamVid val split
/// (101 images), measured by `tools/make_demo_ladder.sh` when it wrote the file. The demo
/// itself only has four labelled samples, so the full-split score comes from the manifest.
struct DemoLadder: Decodable {
    struct Variant: Decodable {
        var name: String
        var file: String
        var recipe: String
        var valMiou: Double?
    }

    var variants: [Variant]

    /// `ladder.json` beside the models; without one, the FP32 and INT8 models.
    static func load(from assets: URL) -> DemoLadder {
        let url = assets.appendingPathComponent("ladder.json")
        if let data = try? Data(contentsOf: url), let ladder = try? JSONDecoder().decode(DemoLadder.self, from: data), !ladder.variants.isEmpty {
            return ladder
        }
        return DemoLadder(variants: [
            Variant(name: "FP32", file: "lraspp_mbv3_camvid.onnx", recipe: "the bundled model", valMiou: nil),
            Variant(name: "INT8", file: "lraspp_mbv3_camvid.int8.onnx", recipe: "quantize", valMiou: nil),
        ])
    }

    /// A folder name for a variant's panels: letters and digits, the rest as `-`.
    static func slug(_ name: String) -> String {
        let mapped = name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return String(mapped).split(separator: "-").joined(separator: "-")
    }
}
