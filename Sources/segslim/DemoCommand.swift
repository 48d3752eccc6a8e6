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
        let seg = try client.send(ModelSegmentRequest.self, .init(id: model.id, images: images.map { .path($0) }, outputDir: out, legend: true, overwrite: true),
                                  progress: progressPrinter(options))
        // Both models on the labelled samples, with side-by-side overlays (FP32 | INT8 | differences).
        let cmp = try client.send(ModelCompareRequest.self, .init(ids: [model.id, int8.id], dataset: samples.path, split: "val", outputDir: out,
                                                                  overwrite: true),
                                  progress: progressPrinter(options))
        var bench: [ModelBenchmarkRequest.Result] = []
        for m in [model, int8] {
            bench.append(try client.send(ModelBenchmarkRequest.self, .init(id: m.id, runs: 10, warmup: 2)))
        }

        // The latency ratio below is only as good as the timings it divides.
        let warnings = zip([model, int8], bench).compactMap { m, b in Warnings.noisy(m.id, p50Ms: b.p50Ms, minMs: b.minMs) }
        Warnings.print(warnings)
        if !options.json {
            Table.print(header: ["image", "infer", "top classes"], rows: seg.results.map { r in
                [(r.image as NSString).lastPathComponent, String(format: "%.0f ms", r.timings.inferMs), topClasses(r.classes, 3)]
            })
            print("")
            let rows: [[String]] = [(model, cmp.a, bench[0]), (int8, cmp.b, bench[1])].map { m, e, b in
                [m.id, Table.bytes(m.sizeBytes), String(format: "%.4f", e.miou), String(format: "%.4f", e.pixelAccuracy), String(format: "%.1f ms", b.p50Ms)]
            }
            Table.print(header: ["model", "file", "mIoU (4 samples)", "pixel acc", "p50"], rows: rows)
            print("")
            let p50a = bench[0].p50Ms, p50b = bench[1].p50Ms
            Table.printKeyValues([
                ("INT8 vs FP32", String(format: "%.2f× the latency, %.2f× the file, %.2f%% of pixels agree",
                                        p50a > 0 ? p50b / p50a : 0, cmp.sizeRatio, cmp.pixelAgreement * 100)),
                ("model", "\(model.params) parameters, \(String(format: "%.2f", Double(model.macs) / 1e9)) GMACs"),
            ])
            print("\nOverlays, masks, legend.png and FP32 | INT8 | difference panels (*.compare.png) are in \(out)")
        }
        return Warnings.attach(warnings, to: ["model": ModelInfoRequest.json(model), "int8": ModelInfoRequest.json(int8), "segment": ModelSegmentRequest.json(seg),
                "compare": ModelCompareRequest.json(cmp), "benchmark": .array(bench.map(ModelBenchmarkRequest.json)), "outputDir": .string(out)])
    }
}
