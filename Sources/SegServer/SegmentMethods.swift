import Foundation
import SegData
import SegImaging
import SegMetrics
import SegPipeline
import SegProtocol

/// `model/segment`, `model/evaluate`, `model/compare`.
extension ServerCore {
    static let segmentMethods: [MethodHandler] = [
        MethodHandler(method: "model/segment") { ctx in try await ctx.core.segment(ctx) },
        MethodHandler(method: "model/evaluate") { ctx in try await ctx.core.evaluate(ctx) },
        MethodHandler(method: "model/compare") { ctx in try await ctx.core.compare(ctx) },
    ]

    func segmenter(for entry: ModelStore.Entry) throws -> Segmenter {
        guard let pre = entry.preprocessing, let output = entry.model.graph.outputs.first?.name else {
            throw ResponseError.invalidParams("params.id: model '\(entry.id)' is not an image segmentation model (it needs one 4-D float input and a [1, classes, H, W] output)")
        }
        return Segmenter(runner: entry.runner, preprocessing: pre, outputName: output)
    }

    func segment(_ ctx: RequestContext) async throws -> JSONValue {
        let p = try ParamReader(ctx.params)
        try p.rejectUnknown(allowed: ["id", "images", "outputDir", "mask", "overlay", "legend", "slide", "alpha"])
        let entry = try await models.entry(id: try p.string("id"))
        let segmenter = try segmenter(for: entry)
        guard let images = try p.optionalArray("images"), !images.isEmpty else {
            throw ResponseError.invalidParams("params.images: required non-empty array of image paths (or {data: base64})")
        }
        let outputDir = try p.optionalString("outputDir").map { try FilePaths.outputDirectory($0, field: "params.outputDir") }
        let wantMask = try p.optionalBool("mask") ?? true
        let wantOverlay = try p.optionalBool("overlay") ?? true
        let wantLegend = try p.optionalBool("legend") ?? false
        let alpha = try p.optionalDouble("alpha") ?? 0.5
        guard (0...1).contains(alpha) else { throw ResponseError.invalidParams("params.alpha: \(alpha) is outside 0...1") }
        var slide: Segmenter.Slide? = nil
        if let s = try p.optionalObject("slide") {
            func pair(_ key: String) throws -> (Int, Int) {
                guard let a = try s.optionalArray(key), a.count == 2, let h = a[0].intValue, let w = a[1].intValue, h > 0, w > 0, h <= 16384, w <= 16384 else {
                    throw ResponseError.invalidParams("params.slide.\(key): expected [height, width] with positive integers")
                }
                return (Int(h), Int(w))
            }
            try s.rejectUnknown(allowed: ["crop", "stride"])
            slide = Segmenter.Slide(crop: try pair("crop"), stride: try pair("stride"))
        }
        let pre = segmenter.preprocessing
        let palette = pre.palette.map { RGB($0[0], $0[1], $0[2]) }
        ctx.progress.begin("Segmenting \(images.count) image\(images.count == 1 ? "" : "s")")
        var results: [JSONValue] = []
        var usedNames = Set<String>()
        for (index, spec) in images.enumerated() {
            try Task.checkCancellation()
            let started = Date()
            let (bytes, name) = try Self.imageBytes(spec, index: index)
            let image: Image
            do { image = try ImageIO.decode(bytes) } catch {
                throw ResponseError(.unsupportedFormat, "params.images[\(index)] (\(name)): \(error)")
            }
            let decodeMs = Date().timeIntervalSince(started) * 1000
            let (mask, t) = try segmenter.segment(image, slide: slide, isCancelled: { Task.isCancelled })
            var stem = (name as NSString).deletingPathExtension
            stem = (stem as NSString).lastPathComponent
            while usedNames.contains(stem) { stem += "_" }
            usedNames.insert(stem)
            var r: [String: JSONValue] = [
                "image": .string(name), "width": .int(Int64(image.width)), "height": .int(Int64(image.height)),
                "classes": Self.classesPresent(mask, names: pre.classes),
            ]
            let writeStart = Date()
            if wantMask {
                let png = try PNG.encodeIndexed(mask, palette: palette.isEmpty ? Palette.voc() : palette)
                r["mask"] = try Self.store(png, dir: outputDir, file: "\(stem).mask.png")
            }
            if wantOverlay {
                let rgb = image.channels == 3 ? image : try Self.toRGB(image)
                let overlay = try rgb.overlaying(mask: mask, palette: palette.isEmpty ? Palette.voc() : palette, alpha: alpha, ignoreIndex: UInt8(clamping: pre.ignoreIndex))
                r["overlay"] = try Self.store(try PNG.encode(overlay, options: .init(deflate: .fast)), dir: outputDir, file: "\(stem).overlay.png")
            }
            r["timings"] = [
                "decodeMs": .double(Self.ms(decodeMs)), "preprocessMs": .double(Self.ms(t.preprocessMs)),
                "inferMs": .double(Self.ms(t.inferMs)),
                "postprocessMs": .double(Self.ms(t.postprocessMs + Date().timeIntervalSince(writeStart) * 1000)),
            ]
            results.append(.object(r))
            ctx.progress.report(Double(index + 1) / Double(images.count), message: name)
        }
        var out: [String: JSONValue] = ["results": .array(results)]
        if wantLegend {
            let legend = try Legend.render(classes: pre.classes, palette: palette)
            out["legend"] = try Self.store(try PNG.encode(legend), dir: outputDir, file: "legend.png")
        }
        return .object(out)
    }

    static func ms(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }

    /// A path string (read from disk) or `{data: base64, name?}`.
    static func imageBytes(_ spec: JSONValue, index: Int) throws -> ([UInt8], String) {
        switch spec {
        case .string(let path):
            let abs = try FilePaths.existingFile(path, field: "params.images[\(index)]")
            do { return (try ImageIO.read(abs), abs) } catch { throw ResponseError(.fileNotFound, "params.images[\(index)]: \(error)") }
        case .object(let o):
            guard let b64 = o["data"]?.stringValue, let data = Data(base64Encoded: b64) else {
                throw ResponseError.invalidParams("params.images[\(index)].data: expected base64 image bytes")
            }
            return ([UInt8](data), o["name"]?.stringValue ?? "image-\(index)")
        default:
            throw ResponseError.invalidParams("params.images[\(index)]: expected a path or {data: base64}")
        }
    }

    /// Writes a file into `dir` and returns its absolute path, or returns the bytes as base64
    /// when there is no output folder.
    static func store(_ bytes: [UInt8], dir: String?, file: String) throws -> JSONValue {
        guard let dir else { return ["data": .string(Data(bytes).base64EncodedString())] }
        let path = (dir as NSString).appendingPathComponent(file)
        try FilePaths.atomicWrite(bytes, to: path)
        return .string(path)
    }

    static func toRGB(_ image: Image) throws -> Image {
        var px = [UInt8](); px.reserveCapacity(image.width * image.height * 3)
        for i in 0..<(image.width * image.height) {
            let base = i * image.channels
            if image.channels >= 3 { px.append(contentsOf: image.pixels[base..<base + 3]) } else { px.append(contentsOf: [image.pixels[base], image.pixels[base], image.pixels[base]]) }
        }
        return try Image(width: image.width, height: image.height, channels: 3, pixels: px)
    }

    /// `[{id, class, fraction}]` for every class in the mask, largest first.
    static func classesPresent(_ mask: Image, names: [String]) -> JSONValue {
        var counts = [Int](repeating: 0, count: 256)
        for v in mask.pixels { counts[Int(v)] += 1 }
        let total = Double(max(mask.pixels.count, 1))
        let present = counts.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }
        return .array(present.map { id, n in
            ["id": .int(Int64(id)), "class": .string(id < names.count ? names[id] : "class \(id)"), "fraction": .double((Double(n) / total * 1e6).rounded() / 1e6)]
        })
    }

    func evaluation(_ entry: ModelStore.Entry, _ dataset: Dataset, split: String, limit: Int?, keepMasks: Bool,
                    progress: ProgressReporter, label: String) async throws -> Evaluator.Result {
        let segmenter = try segmenter(for: entry)
        let modelClasses = segmenter.preprocessing.classes.count
        if modelClasses > 0 && dataset.numClasses > 0 && modelClasses != dataset.numClasses {
            throw ResponseError(.datasetError, "model '\(entry.id)' predicts \(modelClasses) classes but the dataset has \(dataset.numClasses)")
        }
        guard dataset.splits[split] != nil else {
            throw ResponseError(.datasetError, "params.split: no split '\(split)' in \(dataset.root) (splits: \(dataset.splitNames.joined(separator: ", ")))")
        }
        progress.begin("Evaluating \(label) on \(split)")
        do {
            return try await Evaluator(segmenter: segmenter, dataset: dataset).evaluate(split: split, limit: limit, keepMasks: keepMasks) { done, total in
                progress.report(Double(done) / Double(total), message: "\(done)/\(total) images")
            }
        } catch let e as DatasetError {
            throw ResponseError(.datasetError, e.description)
        } catch let e as PipelineError {
            throw ResponseError(.datasetError, e.description)
        }
    }

    static func evaluationJSON(_ r: Evaluator.Result, classes: [String]) -> JSONValue {
        let m = r.metrics
        let latency = LatencyStats(r.inferMs)
        return [
            "miou": .double(m.miou), "pixelAccuracy": .double(m.pixelAccuracy), "meanAccuracy": .double(m.meanAccuracy),
            "kappa": .double(m.kappa), "meanDice": .double(m.meanDice),
            "perClassIoU": .array(m.classIoU.enumerated().map { i, v in ["class": .string(i < classes.count ? classes[i] : "class \(i)"), "iou": .double(v)] }),
            "images": .int(Int64(r.images)),
            "latency": ["p50Ms": .double(ms(latency.p50Ms)), "p90Ms": .double(ms(latency.p90Ms)), "meanMs": .double(ms(latency.meanMs))],
            "imagesPerSecond": .double(r.wallMs > 0 ? (Double(r.images) / (r.wallMs / 1000) * 1000).rounded() / 1000 : 0),
            "outOfRangeLabels": .int(r.confusion.outOfRangeLabels),
        ]
    }

    func evaluate(_ ctx: RequestContext) async throws -> JSONValue {
        let p = try ParamReader(ctx.params)
        try p.rejectUnknown(allowed: ["id", "dataset", "split", "limit"])
        let entry = try await models.entry(id: try p.string("id"))
        let (_, dataset) = try await dataset(try p.string("dataset"))
        let split = try p.optionalString("split") ?? "val"
        let limit = try p.optionalInt("limit", range: 1...1_000_000).map(Int.init)
        let r = try await evaluation(entry, dataset, split: split, limit: limit, keepMasks: false, progress: ctx.progress, label: entry.id)
        var json = Self.evaluationJSON(r, classes: dataset.classes).objectValue ?? [:]
        json["id"] = .string(entry.id)
        json["split"] = .string(split)
        return .object(json)
    }

    /// Three panels side by side: model a's overlay, model b's, and where they disagree
    /// (white on a dimmed image).
    static func comparisonPanel(_ image: Image, _ a: Image, _ b: Image, palette: [RGB], alpha: Double) throws -> Image {
        let oa = try image.overlaying(mask: a, palette: palette, alpha: alpha)
        let ob = try image.overlaying(mask: b, palette: palette, alpha: alpha)
        let w = image.width, h = image.height, gap = 8
        var diff = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            let differs = a.pixels[i] != b.pixels[i]
            for c in 0..<3 { diff[i * 3 + c] = differs ? 255 : image.pixels[i * 3 + c] / 3 }
        }
        let panels = [oa.pixels, ob.pixels, diff]
        let total = 3 * w + 2 * gap
        var out = [UInt8](repeating: 255, count: total * h * 3)
        for (p, px) in panels.enumerated() {
            let x0 = p * (w + gap)
            for y in 0..<h {
                let dst = (y * total + x0) * 3, src = y * w * 3
                out.replaceSubrange(dst..<(dst + w * 3), with: px[src..<(src + w * 3)])
            }
        }
        return try Image(width: total, height: h, channels: 3, pixels: out)
    }

    func compare(_ ctx: RequestContext) async throws -> JSONValue {
        let p = try ParamReader(ctx.params)
        try p.rejectUnknown(allowed: ["ids", "dataset", "split", "limit", "outputDir", "alpha"])
        let outputDir = try p.optionalString("outputDir").map { try FilePaths.outputDirectory($0, field: "params.outputDir") }
        let alpha = try p.optionalDouble("alpha") ?? 0.5
        guard (0...1).contains(alpha) else { throw ResponseError.invalidParams("params.alpha: \(alpha) is outside 0...1") }
        guard let ids = try p.optionalArray("ids")?.compactMap(\.stringValue), ids.count == 2 else {
            throw ResponseError.invalidParams("params.ids: expected two model ids [a, b]")
        }
        let a = try await models.entry(id: ids[0]), b = try await models.entry(id: ids[1])
        let (_, dataset) = try await dataset(try p.string("dataset"))
        let split = try p.optionalString("split") ?? "val"
        let limit = try p.optionalInt("limit", range: 1...1_000_000).map(Int.init)
        let ra = try await evaluation(a, dataset, split: split, limit: limit, keepMasks: true, progress: ctx.progress, label: a.id)
        ctx.progress.end()
        let rb = try await evaluation(b, dataset, split: split, limit: limit, keepMasks: true, progress: ProgressReporter(token: nil, writer: nil), label: b.id)
        var same = 0, total = 0
        for (ma, mb) in zip(ra.masks, rb.masks) {
            total += ma.pixels.count
            for (x, y) in zip(ma.pixels, mb.pixels) where x == y { same += 1 }
        }
        let la = LatencyStats(ra.inferMs), lb = LatencyStats(rb.inferMs)
        var panels: [JSONValue] = []
        if let outputDir {
            let samples = Array(try dataset.samples(split: split).filter { $0.label != nil }.prefix(ra.masks.count))
            let palette = (try segmenter(for: a).preprocessing.palette).map { RGB($0[0], $0[1], $0[2]) }
            for (k, sample) in samples.enumerated() where k < rb.masks.count {
                try Task.checkCancellation()
                let image = try Self.toRGB(try dataset.load(sample).image)
                let png = try PNG.encode(try Self.comparisonPanel(image, ra.masks[k], rb.masks[k], palette: palette.isEmpty ? Palette.voc() : palette, alpha: alpha),
                                         options: .init(deflate: .fast))
                let stem = ((sample.image as NSString).lastPathComponent as NSString).deletingPathExtension
                panels.append(try Self.store(png, dir: outputDir, file: "\(stem).compare.png"))
            }
        }
        return [
            "panels": .array(panels),
            "a": Self.evaluationJSON(ra, classes: dataset.classes), "b": Self.evaluationJSON(rb, classes: dataset.classes),
            "ids": .array(ids.map(JSONValue.string)), "split": .string(split),
            "pixelAgreement": .double(total > 0 ? Double(same) / Double(total) : 0),
            "miouDelta": .double(rb.metrics.miou - ra.metrics.miou),
            "perClassIoUDelta": .array(zip(ra.metrics.classIoU, rb.metrics.classIoU).enumerated().map { i, v in
                ["class": .string(i < dataset.classes.count ? dataset.classes[i] : "class \(i)"), "delta": .double(v.1 - v.0)]
            }),
            "latencyRatio": .double(la.p50Ms > 0 ? lb.p50Ms / la.p50Ms : 0),
            "sizeRatio": .double(a.fileBytes > 0 ? Double(b.fileBytes) / Double(a.fileBytes) : 0),
        ]
    }
}
