import Foundation
import SegProtocol

/// `segslim demo`: the embedded default, end to end, with nothing to download.
extension Commands {
    /// The assets bundled with the CLI: the CamVid LRASPP model (with its preprocessing in
    /// metadata) and four CamVid val images with labels.
    static var demoAssets: URL? { Bundle.module.url(forResource: "Demo", withExtension: nil) }

    static let demo = Command(
        name: "demo", summary: "Segment the bundled CamVid samples with the bundled model, write overlays and a legend, and evaluate",
        usage: "segslim demo [--out DIR] [--json]   (default DIR: ./segslim-demo)"
    ) { args, client, options in
        let parsed = try parse(args, command: "demo", options: ["--out"])
        guard parsed.positional.isEmpty else { throw UsageError(message: "unexpected argument '\(parsed.positional[0])'", command: "demo") }
        guard let assets = demoAssets else { throw DaemonError(error: ResponseError(.fileNotFound, "the demo assets are missing from this build (Demo/ resources of segslim)")) }
        let out = absolute(parsed.options["--out"] ?? "segslim-demo")
        let modelPath = assets.appendingPathComponent("lraspp_mbv3_camvid.onnx").path
        let samples = assets.appendingPathComponent("samples")
        let images = ((try? FileManager.default.contentsOfDirectory(atPath: samples.appendingPathComponent("images").path)) ?? [])
            .filter { $0.hasSuffix(".jpg") }.sorted().map { samples.appendingPathComponent("images/\($0)").path }

        if !options.json { print("SegSlim demo: LRASPP-MobileNetV3 trained on CamVid (11 classes), \(images.count) sample street scenes\n") }
        let model = try resident(modelPath, client)
        let seg = try client.request("model/segment", withProgress([
            "id": model["id"] ?? .null, "images": .array(images.map(JSONValue.string)), "outputDir": .string(out), "legend": true,
        ], client, options)).value()
        let eval = try client.request("model/evaluate", withProgress([
            "id": model["id"] ?? .null, "dataset": .string(samples.path), "split": "val",
        ], client, options)).value()

        if !options.json {
            Table.print(header: ["image", "infer", "top classes"], rows: (seg["results"]?.arrayValue ?? []).map { r in
                [((r["image"]?.stringValue ?? "?") as NSString).lastPathComponent,
                 String(format: "%.0f ms", r["timings"]?["inferMs"]?.doubleValue ?? 0),
                 (r["classes"]?.arrayValue ?? []).prefix(3).map {
                     "\($0["class"]?.stringValue ?? "?") \(String(format: "%.0f%%", ($0["fraction"]?.doubleValue ?? 0) * 100))"
                 }.joined(separator: ", ")]
            })
            print("")
            Table.printKeyValues([
                ("mIoU (4 samples)", String(format: "%.4f", eval["miou"]?.doubleValue ?? 0)),
                ("pixel accuracy", String(format: "%.4f", eval["pixelAccuracy"]?.doubleValue ?? 0)),
                ("latency p50", String(format: "%.0f ms", eval["latency"]?["p50Ms"]?.doubleValue ?? 0)),
                ("model", "\(model["params"] ?? "?") parameters, \(String(format: "%.2f", Double(model["macs"]?.intValue ?? 0) / 1e9)) GMACs, \(Table.bytes(model["sizeBytes"]?.intValue))"),
            ])
            print("\nOverlays, masks and legend.png are in \(out)")
        }
        return ["model": model, "segment": seg, "evaluate": eval, "outputDir": .string(out)]
    }
}
