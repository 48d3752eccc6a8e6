import Foundation
import SegProtocol

/// `segslim demo`: the embedded default, end to end, with nothing to download.
extension Commands {
    /// The assets bundled with the CLI: the CamVid LRASPP model (with its preprocessing in
    /// metadata) and four CamVid val images with labels.
    static var demoAssets: URL? { Bundle.module.url(forResource: "Demo", withExtension: nil) }

    static let demo = Command(
        name: "demo", summary: "Segment the bundled CamVid samples with the bundled model in FP32 and INT8: overlays, legend, side-by-side panels, mIoU, latency and size",
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

        let int8Path = assets.appendingPathComponent("lraspp_mbv3_camvid.int8.onnx").path
        if !options.json { print("SegSlim demo: LRASPP-MobileNetV3 trained on CamVid (11 classes), \(images.count) sample street scenes, FP32 and INT8\n") }
        let model = try resident(modelPath, client)
        let int8 = try resident(int8Path, client)
        let seg = try client.request("model/segment", withProgress([
            "id": model["id"] ?? .null, "images": .array(images.map(JSONValue.string)), "outputDir": .string(out), "legend": true,
        ], client, options)).value()
        // Both models on the labelled samples, with side-by-side overlays (FP32 | INT8 | differences).
        let cmp = try client.request("model/compare", withProgress([
            "ids": [model["id"] ?? .null, int8["id"] ?? .null], "dataset": .string(samples.path), "split": "val", "outputDir": .string(out),
        ], client, options)).value()
        var bench: [JSONValue] = []
        for m in [model, int8] {
            bench.append(try client.request("model/benchmark", ["id": m["id"] ?? .null, "runs": 10, "warmup": 2]).value())
        }

        if !options.json {
            Table.print(header: ["image", "infer", "top classes"], rows: (seg["results"]?.arrayValue ?? []).map { r in
                [((r["image"]?.stringValue ?? "?") as NSString).lastPathComponent,
                 String(format: "%.0f ms", r["timings"]?["inferMs"]?.doubleValue ?? 0),
                 (r["classes"]?.arrayValue ?? []).prefix(3).map {
                     "\($0["class"]?.stringValue ?? "?") \(String(format: "%.0f%%", ($0["fraction"]?.doubleValue ?? 0) * 100))"
                 }.joined(separator: ", ")]
            })
            print("")
            let rows: [[String]] = [(model, cmp["a"], bench[0]), (int8, cmp["b"], bench[1])].map { m, e, b in
                [m["id"]?.stringValue ?? "?", Table.bytes(m["sizeBytes"]?.intValue),
                 String(format: "%.4f", e?["miou"]?.doubleValue ?? 0), String(format: "%.4f", e?["pixelAccuracy"]?.doubleValue ?? 0),
                 String(format: "%.1f ms", b["p50Ms"]?.doubleValue ?? 0)]
            }
            Table.print(header: ["model", "file", "mIoU (4 samples)", "pixel acc", "p50"], rows: rows)
            print("")
            let p50a = bench[0]["p50Ms"]?.doubleValue ?? 0, p50b = bench[1]["p50Ms"]?.doubleValue ?? 0
            Table.printKeyValues([
                ("INT8 vs FP32", String(format: "%.2f× the latency, %.2f× the file, %.2f%% of pixels agree",
                                        p50a > 0 ? p50b / p50a : 0, cmp["sizeRatio"]?.doubleValue ?? 0, (cmp["pixelAgreement"]?.doubleValue ?? 0) * 100)),
                ("model", "\(model["params"] ?? "?") parameters, \(String(format: "%.2f", Double(model["macs"]?.intValue ?? 0) / 1e9)) GMACs"),
            ])
            print("\nOverlays, masks, legend.png and FP32 | INT8 | difference panels (*.compare.png) are in \(out)")
        }
        return ["model": model, "int8": int8, "segment": seg, "compare": cmp, "benchmark": .array(bench), "outputDir": .string(out)]
    }
}
