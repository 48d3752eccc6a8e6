import Foundation
import SegProtocol

/// `segslim demo`: the embedded default, end to end, with nothing to download.
extension Commands {
    /// The assets bundled with the CLI: the CamVid LRASPP model (with its preprocessing in
    /// metadata) and four CamVid val images with labels.
    static var demoAssets: URL? { Bundle.module.url(forResource: "Demo", withExtension: nil) }

    static let demo = Command(
        name: "demo", summary: "Segment the bundled CamVid samples with the bundled model and its light-mode ladder (INT8, pruned + distilled, ...): overlays, legend, side-by-side panels, mIoU, latency, size and MACs",
        usage: "segslim demo [--out DIR] [--json]   (default DIR: ./segslim-demo)"
    ) { args, client, options in
        let parsed = try parse(args, command: "demo", options: ["--out"])
        guard parsed.positional.isEmpty else { throw UsageError(message: "unexpected argument '\(parsed.positional[0])'", command: "demo") }
        guard let assets = demoAssets else { throw DaemonError(error: ResponseError(.fileNotFound, "the demo assets are missing from this build (Demo/ resources of segslim)")) }
        let out = absolute(parsed.options["--out"] ?? "segslim-demo")
        let samples = assets.appendingPathComponent("samples")
        let images = ((try? FileManager.default.contentsOfDirectory(atPath: samples.appendingPathComponent("images").path)) ?? [])
            .filter { $0.hasSuffix(".jpg") }.sorted().map { samples.appendingPathComponent("images/\($0)").path }

        let ladder = DemoLadder.load(from: assets)
        let present = ladder.variants.filter { FileManager.default.fileExists(atPath: assets.appendingPathComponent($0.file).path) }
        guard let base = present.first else {
            throw DaemonError(error: ResponseError(.fileNotFound, "the demo models are missing from this build (Demo/ resources of segslim)"))
        }
        if !options.json {
            print("SegSlim demo: LRASPP-MobileNetV3 trained on CamVid (11 classes), \(images.count) sample street scenes, and what SegSlim made of it: \(present.map(\.name).joined(separator: ", "))\n")
        }
        let models = try present.map { try resident(assets.appendingPathComponent($0.file).path, client) }
        let model = models[0]
        let seg = try client.send(ModelSegmentRequest.self, .init(id: model.id, images: images.map { .path($0) }, outputDir: out, legend: true, overwrite: true),
                                  progress: progressPrinter(options))
        // Each lighter variant against the first on the labelled samples, with side-by-side
        // overlays (first | variant | differences) in a folder per variant.
        var comparisons: [ModelCompareRequest.Result] = []
        for (variant, m) in zip(present.dropFirst(), models.dropFirst()) {
            comparisons.append(try client.send(ModelCompareRequest.self, .init(ids: [model.id, m.id], dataset: samples.path, split: "val",
                                                                              outputDir: out + "/" + DemoLadder.slug(variant.name), overwrite: true),
                                               progress: progressPrinter(options)))
        }
        // Every variant at the samples' size: a student trained with dynamic H and W has no
        // size of its own.
        let shape = seg.results.first.map { [1, 3, $0.height, $0.width] }
        var bench: [ModelBenchmarkRequest.Result] = []
        for m in models {
            bench.append(try client.send(ModelBenchmarkRequest.self, .init(id: m.id, runs: 10, warmup: 2, inputShape: shape)))
        }

        // The latency ratios below are only as good as the timings they divide.
        let warnings = zip(models, bench).compactMap { m, b in Warnings.noisy(m.id, p50Ms: b.p50Ms, minMs: b.minMs) }
        Warnings.print(warnings)
        let sampleMiou = [comparisons.first?.a.miou] + comparisons.map { Optional($0.b.miou) }
        if !options.json {
            Table.print(header: ["image", "infer", "top classes"], rows: seg.results.map { r in
                [(r.image as NSString).lastPathComponent, String(format: "%.0f ms", r.timings.inferMs), topClasses(r.classes, 3)]
            })
            print("")
            let p50Base = bench[0].p50Ms
            let rows: [[String]] = present.indices.map { i in
                let m = models[i], b = bench[i]
                return [present[i].name, Table.bytes(m.sizeBytes), String(format: "%.2f M", Double(m.params) / 1e6),
                        String(format: "%.2f", Double(b.macs ?? m.macs) / 1e9),
                        present[i].valMiou.map { String(format: "%.4f", $0) } ?? "-",
                        sampleMiou[i].map { String(format: "%.4f", $0) } ?? "-",
                        String(format: "%.1f ms (%.2f×)", b.p50Ms, p50Base > 0 ? b.p50Ms / p50Base : 0)]
            }
            Table.print(header: ["variant", "file", "params", "GMACs", "val mIoU (101)", "mIoU (4 samples)", "p50"], rows: rows)
            print("")
            Table.printKeyValues(present.map { ($0.name, $0.recipe) })
            print("\nOverlays, masks and legend.png are in \(out); \(present.first?.name ?? "") | variant | difference panels in its subfolders (\(present.dropFirst().map { DemoLadder.slug($0.name) }.joined(separator: ", ")))")
        }
        let ladderJSON: [JSONValue] = present.indices.map { i in
            var o: [String: JSONValue] = ["name": .string(present[i].name), "recipe": .string(present[i].recipe), "model": ModelInfoRequest.json(models[i]),
                                          "benchmark": ModelBenchmarkRequest.json(bench[i])]
            o["valMiou"] = present[i].valMiou.map(JSONValue.double) ?? .null
            if i > 0 { o["compare"] = ModelCompareRequest.json(comparisons[i - 1]) }
            return .object(o)
        }
        return Warnings.attach(warnings, to: ["model": ModelInfoRequest.json(model), "ladder": .array(ladderJSON), "segment": ModelSegmentRequest.json(seg),
                "outputDir": .string(out)])
    }
}
