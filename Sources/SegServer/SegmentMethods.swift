import Foundation
import SegData
import SegImaging
import SegMetrics
import SegParallel
import SegPipeline
import SegProtocol
import SegReference

/// `model/segment`, `model/evaluate`, `model/compare`.
extension ServerCore {
    static let segmentMethods: [MethodHandler] = [
        .typed(ModelSegmentRequest.self) { p, ctx in try await ctx.core.segment(p, ctx) },
        .typed(ModelEvaluateRequest.self) { p, ctx in try await ctx.core.evaluate(p, ctx) },
        .typed(ModelCompareRequest.self) { p, ctx in try await ctx.core.compare(p, ctx) },
    ]

    func segmenter(for entry: ModelStore.Entry) throws -> Segmenter {
        do { return try Segmenter(imageModel: entry.model, runner: entry.runner, preprocessing: entry.preprocessing, summary: entry.summary) } catch {
            let why = ImageModel.inputProblem(entry.summary) ?? "\(error)"
            throw ResponseError.invalidParams("params.id: model '\(entry.id)' is not an image segmentation model: \(why)")
        }
    }

    /// Errors from segmenting one image: an image the model cannot take (its input's fixed
    /// size or channels) is the request's fault, named by the image; cancellation stays
    /// cancellation; anything else is the model's.
    static func segmentError(_ error: any Error, entry: ModelStore.Entry, image index: Int, name: String) -> any Error {
        switch error {
        case ExecutionError.cancelled: return CancellationError()
        case let e as ExecutionError:
            switch e {
            case .inputMismatch, .missingInput, .unknownInput:
                return ResponseError.invalidParams("params.images[\(index)] (\(name)): model '\(entry.id)' cannot take this image: \(e)")
            default: return ModelErrors.response(for: e, file: entry.path ?? entry.id)
            }
        case let e as PipelineError: return ResponseError.invalidParams("params.images[\(index)] (\(name)): \(e)")
        case is CancellationError: return error
        default: return ModelErrors.response(for: error, file: entry.path ?? entry.id)
        }
    }

    func segment(_ p: ModelSegmentRequest.Params, _ ctx: RequestContext) async throws -> ModelSegmentRequest.Result {
        guard p.variant != nil || p.maxLatencyMs != nil || p.minMiou != nil else {
            return try await segment(p, ctx, entry: try await models.entry(id: p.id))
        }
        // Light mode: a member of the model's variant family serves, chosen per request.
        guard let family = await variants.family(containing: p.id) else {
            _ = try await models.entry(id: p.id)
            throw ResponseError.invalidParams("params.variant: model '\(p.id)' has no variants; register them with model/variants first")
        }
        let policy = p.variant ?? "auto"
        let arrived = Date()
        try await variants.enter(family)
        do {
            let waited = Date().timeIntervalSince(arrived) * 1000
            let pick: (id: String, expectedMs: Double, behind: Int)
            do { pick = try await variants.choose(family: family, policy: policy, targetMs: p.maxLatencyMs, minMiou: p.minMiou, waitedMs: waited) } catch {
                switch error {
                case .unknownVariant(let v):
                    throw ResponseError.invalidParams("params.variant: '\(v)' is not \"accurate\", \"fastest\", \"auto\" or a member of '\(family)' (model/variants lists them)")
                case .noneAccurateEnough(let m):
                    throw ResponseError.invalidParams("params.minMiou: no member of '\(family)' has a measured mIoU of at least \(m)")
                }
            }
            var result = try await segment(p, ctx, entry: try await models.entry(id: pick.id))
            // Learn from the work itself (decode to written files), not the wait before it.
            let work = result.results.map { $0.timings.decodeMs + $0.timings.preprocessMs + $0.timings.inferMs + $0.timings.postprocessMs }
            await variants.learn(pick.id, msPerImage: work.reduce(0, +) / Double(max(work.count, 1)))
            result.variant = .init(id: pick.id, policy: ["accurate", "fastest", "auto"].contains(policy) ? policy : "id",
                                   expectedMs: Self.ms(pick.expectedMs), waitedMs: Self.ms(waited), behind: pick.behind)
            await variants.leave(family)
            return result
        } catch {
            await variants.leave(family)
            throw error
        }
    }

    private func segment(_ p: ModelSegmentRequest.Params, _ ctx: RequestContext, entry: ModelStore.Entry) async throws -> ModelSegmentRequest.Result {
        let segmenter = try segmenter(for: entry)
        let images = p.images ?? []
        let outputDir = try p.outputDir.map { try FilePaths.outputDirectory($0, field: "params.outputDir") }
        let wantMask = p.mask ?? true
        let wantOverlay = p.overlay ?? true
        let wantLegend = p.legend ?? false
        let alpha = p.alpha ?? 0.5
        let slide = p.slide.map { Segmenter.Slide(crop: ($0.crop[0], $0.crop[1]), stride: ($0.stride[0], $0.stride[1])) }
        var pre = segmenter.preprocessing
        if let source = p.classes {
            let labels = try await classLabels(source, field: "params.classes")
            try Self.check(labels, fits: ImageModel.classCount(entry.summary), model: entry.id, field: "params.classes")
            (pre.classes, pre.palette) = (labels.names, labels.palette)
            pre.defaulted.subtract(["classes", "palette"])
        }
        let warnings = Self.defaultWarnings(pre, model: entry.id, namesShown: true)
        let palette = pre.palette.map { RGB($0[0], $0[1], $0[2]) }
        let overwrite = p.overwrite ?? false
        let stems = Self.outputStems(images)
        if let outputDir, !overwrite {
            // Refuse before any work; publishing checks again, so a file created meanwhile is
            // not replaced either.
            var files = stems.flatMap { [wantMask ? "\($0).mask.png" : nil, wantOverlay ? "\($0).overlay.png" : nil].compactMap { $0 } }
            if wantLegend { files.append("legend.png") }
            if let taken = files.map({ (outputDir as NSString).appendingPathComponent($0) }).first(where: { FileManager.default.fileExists(atPath: $0) }) {
                throw ResponseError(.outputExists, "params.outputDir: \(taken) exists; pass overwrite: true to replace it (nothing was written)")
            }
        }
        ctx.progress.begin("Segmenting \(images.count) image\(images.count == 1 ? "" : "s")")
        var results: [ModelSegmentRequest.ImageResult] = []
        for (index, spec) in images.enumerated() {
            // Each image is seconds of synchronous work on a cooperative thread: let other
            // tasks (other requests' replies, a client waiting on this one) run in between.
            await Task.yield()
            try Task.checkCancellation()
            let started = Date()
            let (bytes, name) = try Self.imageBytes(spec, index: index)
            let admitted = try await admitSegment(bytes, index: index, name: name, entry: entry, segmenter: segmenter, slide: slide)
            defer { models.release(admitted) }
            let image: Image
            do { image = try ImageIO.decode(bytes) } catch {
                throw ResponseError(.unsupportedFormat, "params.images[\(index)] (\(name)): \(error)")
            }
            let decodeMs = Date().timeIntervalSince(started) * 1000
            let (mask, t): (Image, Segmenter.Timings)
            do { (mask, t) = try segmenter.segment(image, slide: slide, isCancelled: { Task.isCancelled }) } catch {
                throw Self.segmentError(error, entry: entry, image: index, name: name)
            }
            try Task.checkCancellation()  // no files written after a cancel
            let stem = stems[index]
            let writeStart = Date()
            var maskFile: FileOrData? = nil, overlayFile: FileOrData? = nil
            let colours = palette.isEmpty ? Palette.voc() : palette
            // Mask and overlay compress in one parallel loop over both images' row bands (mask:
            // run-length deflate; overlay: literals only, ~0.5 ms for 360×480 on two threads
            // instead of ~17 ms for LZ77, 7% larger), so the mask's bands fill in while the
            // overlay's run; then both files are written side by side.
            var pngs: [PNG.FastImage] = []
            if wantMask { pngs.append(try .indexed(mask, palette: colours)) }
            if wantOverlay {
                let overlay = try image.rgb().overlaying(mask: mask, palette: colours, alpha: alpha,
                                                         ignoreIndex: UInt8(clamping: pre.ignoreIndex))
                pngs.append(try .pixels(overlay))
            }
            let names = [wantMask ? "\(stem).mask.png" : nil, wantOverlay ? "\(stem).overlay.png" : nil].compactMap { $0 }
            var stored = try Self.storeAll(zip(PNG.encodeFast(batch: pngs), names).map { ($0, $1) }, dir: outputDir, overwrite: overwrite)[...]
            if wantMask { maskFile = stored.removeFirst() }
            if wantOverlay { overlayFile = stored.removeFirst() }
            let timings = ModelSegmentRequest.Timings(
                decodeMs: Self.ms(decodeMs), preprocessMs: Self.ms(t.preprocessMs), inferMs: Self.ms(t.inferMs),
                postprocessMs: Self.ms(t.postprocessMs + Date().timeIntervalSince(writeStart) * 1000))
            results.append(.init(image: name, width: image.width, height: image.height, classes: Self.classesPresent(mask, names: pre.classes),
                                 mask: maskFile, overlay: overlayFile, timings: timings))
            ctx.progress.report(Double(index + 1) / Double(images.count), message: name)
        }
        var out = ModelSegmentRequest.Result(results: results, warnings: warnings.isEmpty ? nil : warnings)
        if wantLegend {
            let legend = try Legend.render(classes: pre.classes, palette: palette)
            out.legend = try Self.store(try PNG.encode(legend), dir: outputDir, file: "legend.png", overwrite: overwrite)
        }
        return out
    }

    static func ms(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }

    /// A path string (read from disk) or `{data: base64, name?}`.
    static func imageBytes(_ spec: ImageInput, index: Int) throws -> ([UInt8], String) {
        switch spec {
        case .path(let path):
            let abs = try FilePaths.existingFile(path, field: "params.images[\(index)]")
            do { return (try ImageIO.read(abs), abs) } catch { throw ResponseError(.fileNotFound, "params.images[\(index)]: \(error)") }
        case .inline(let b64, let name):
            guard let data = Data(base64Encoded: b64) else {
                throw ResponseError.invalidParams("params.images[\(index)].data: expected base64 image bytes")
            }
            return ([UInt8](data), name ?? "image-\(index)")
        }
    }

    /// Stores several files at once (each its own temporary and publish, as `store`): a
    /// segment request's mask and overlay cost two file creations and links, which the
    /// filesystem serves side by side. The first failure in order is thrown.
    static func storeAll(_ files: [(bytes: [UInt8], file: String)], dir: String?, overwrite: Bool) throws -> [FileOrData] {
        guard files.count > 1, dir != nil else {
            return try files.map { try store($0.bytes, dir: dir, file: $0.file, overwrite: overwrite) }
        }
        var results = [Result<FileOrData, any Error>](repeating: .failure(CancellationError()), count: files.count)
        results.withUnsafeMutableBufferPointer { out in
            // Each iteration writes only its own slot.
            nonisolated(unsafe) let slots = out
            ThreadPool.shared.forEachItem(costs: files.map(\.bytes.count)) { k in
                slots[k] = Result { try store(files[k].bytes, dir: dir, file: files[k].file, overwrite: overwrite) }
            }
        }
        return try results.map { try $0.get() }
    }

    /// Writes a file into `dir` and returns its absolute path, or returns the bytes as base64
    /// when there is no output folder. Without `overwrite` an existing file is OutputExists.
    static func store(_ bytes: [UInt8], dir: String?, file: String, overwrite: Bool) throws -> FileOrData {
        guard let dir else { return .data(Data(bytes).base64EncodedString()) }
        let path = (dir as NSString).appendingPathComponent(file)
        try OutputFiles.write(bytes, to: path, overwrite: overwrite, field: "params.outputDir", durable: false)
        return .path(path)
    }

    /// The file stem each image's outputs are named after: its name without folder and
    /// extension, control characters (a NUL the OS would cut the name at) replaced, made
    /// unique within the request.
    static func outputStems(_ images: [ImageInput]) -> [String] {
        var used = Set<String>()
        return images.enumerated().map { index, spec in
            let name: String
            switch spec {
            case .path(let path): name = path
            case .inline(_, let given): name = given ?? "image-\(index)"
            }
            var stem = ((name as NSString).lastPathComponent as NSString).deletingPathExtension
            stem = String(stem.map { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } ? "_" : $0 })
            if stem.isEmpty || stem.hasPrefix(".") { stem = "image-\(index)" + stem }
            while used.contains(stem) { stem += "_" }
            used.insert(stem)
            return stem
        }
    }

    /// `[{id, class, fraction}]` for every class in the mask, largest first (fractions to six
    /// decimals).
    static func classesPresent(_ mask: Image, names: [String]) -> [ModelSegmentRequest.ClassFraction] {
        ClassHistogram(mask: mask.pixels).present.map { c in
            .init(id: c.id, name: c.id < names.count ? names[c.id] : "class \(c.id)", fraction: (c.fraction * 1e6).rounded() / 1e6)
        }
    }

    func evaluation(_ entry: ModelStore.Entry, _ dataset: Dataset, split: String, limit: Int?, spread: Bool = false, keepMasks: Bool,
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
            return try await Evaluator(segmenter: segmenter, dataset: dataset).evaluate(split: split, limit: limit, spread: spread, keepMasks: keepMasks) { done, total in
                progress.report(Double(done) / Double(total), message: "\(done)/\(total) images")
            }
        } catch let e as DatasetError {
            throw ResponseError(.datasetError, e.description)
        } catch let e as PipelineError {
            throw ResponseError(.datasetError, e.description)
        }
    }

    /// A compress report's evaluation sides, as JSON inside the technique-specific report.
    static func evaluationJSON(_ r: Evaluator.Result, classes: [String]) -> JSONValue {
        (try? JSONValueEncoder().encode(evaluationMetrics(r, classes: classes))) ?? .null
    }

    static func evaluationMetrics(_ r: Evaluator.Result, classes: [String]) -> EvaluationMetrics {
        let m = r.metrics
        let latency = LatencyStats(r.inferMs)
        return EvaluationMetrics(
            miou: m.miou, pixelAccuracy: m.pixelAccuracy, meanAccuracy: m.meanAccuracy, kappa: m.kappa, meanDice: m.meanDice,
            perClassIoU: m.classIoU.enumerated().map { i, v in .init(name: i < classes.count ? classes[i] : "class \(i)", iou: v) },
            images: r.images,
            latency: .init(p50Ms: ms(latency.p50Ms), p90Ms: ms(latency.p90Ms), meanMs: ms(latency.meanMs), minMs: ms(latency.minMs)),
            imagesPerSecond: r.wallMs > 0 ? (Double(r.images) / (r.wallMs / 1000) * 1000).rounded() / 1000 : 0,
            outOfRangeLabels: Int64(r.confusion.outOfRangeLabels))
    }

    func evaluate(_ p: ModelEvaluateRequest.Params, _ ctx: RequestContext) async throws -> ModelEvaluateRequest.Result {
        let entry = try await models.entry(id: p.id)
        let (_, dataset) = try await dataset(p.dataset)
        let split = p.split ?? "val"
        let r = try await evaluation(entry, dataset, split: split, limit: p.limit, keepMasks: false, progress: ctx.progress, label: entry.id)
        let warnings = entry.preprocessing.map { Self.defaultWarnings($0, model: entry.id, namesShown: false) } ?? []
        return .init(id: entry.id, split: split, metrics: Self.evaluationMetrics(r, classes: dataset.classes), warnings: warnings.isEmpty ? nil : warnings)
    }

    func compare(_ p: ModelCompareRequest.Params, _ ctx: RequestContext) async throws -> ModelCompareRequest.Result {
        let outputDir = try p.outputDir.map { try FilePaths.outputDirectory($0, field: "params.outputDir") }
        let alpha = p.alpha ?? 0.5
        let ids = p.ids ?? []
        guard ids.count == 2 else { throw ResponseError.invalidParams("params.ids: expected two model ids [a, b]") }
        let a = try await models.entry(id: ids[0]), b = try await models.entry(id: ids[1])
        let (_, dataset) = try await dataset(p.dataset)
        let split = p.split ?? "val"
        let limit = p.limit
        let ra = try await evaluation(a, dataset, split: split, limit: limit, keepMasks: true, progress: ctx.progress, label: a.id)
        ctx.progress.end()
        let rb = try await evaluation(b, dataset, split: split, limit: limit, keepMasks: true, progress: ProgressReporter(token: nil, writer: nil), label: b.id)
        var same = 0, total = 0
        var differing: [Int] = []
        for (ma, mb) in zip(ra.masks, rb.masks) {
            total += ma.pixels.count
            var d = 0
            for (x, y) in zip(ma.pixels, mb.pixels) where x != y { d += 1 }
            differing.append(d)
            same += ma.pixels.count - d
        }
        let la = LatencyStats(ra.inferMs), lb = LatencyStats(rb.inferMs)
        var panels: [FileOrData] = [], panelImages: [ModelCompareRequest.PanelImage] = []
        if let outputDir {
            let samples = Array(try dataset.samples(split: split).filter { $0.label != nil }.prefix(min(ra.masks.count, rb.masks.count)))
            // The images where the two masks differ most, first; ties keep dataset order.
            let chosen = samples.indices.sorted { (differing[$1], $0) < (differing[$0], $1) }.prefix(p.panels ?? 4)
            let stems = Self.outputStems(chosen.map { .path(samples[$0].image) })
            let files = stems.map { (outputDir as NSString).appendingPathComponent("\($0).compare.png") }
            if !(p.overwrite ?? false), let taken = files.first(where: { FileManager.default.fileExists(atPath: $0) }) {
                throw ResponseError(.outputExists, "params.outputDir: \(taken) exists; pass overwrite: true to replace it (nothing was written)")
            }
            // The dataset's colours: both masks are of its classes (A's own would differ from B's
            // when only one of the models names them).
            let colours = dataset.palette.isEmpty ? try segmenter(for: a).preprocessing.palette : dataset.palette
            let palette = colours.map { RGB($0[0], $0[1], $0[2]) }
            for (k, index) in chosen.enumerated() {
                try Task.checkCancellation()
                let pixels = ra.masks[index].pixels.count
                let fraction = pixels > 0 ? Double(differing[index]) / Double(pixels) : 0
                let titles = ["A: \(a.id)", "B: \(b.id)", String(format: "difference: %.1f%% of pixels", fraction * 100)]
                let image = try dataset.load(samples[index]).image.rgb()
                let png = try PNG.encode(try image.comparisonPanel(ra.masks[index], rb.masks[index], palette: palette.isEmpty ? Palette.voc() : palette,
                                                                  alpha: alpha, titles: titles),
                                         options: .init(deflate: .fast))
                panels.append(try Self.store(png, dir: outputDir, file: "\(stems[k]).compare.png", overwrite: p.overwrite ?? false))
                panelImages.append(.init(image: samples[index].image, differing: (fraction * 1e6).rounded() / 1e6))
            }
        }
        let warnings = [a, b].flatMap { e in e.preprocessing.map { Self.defaultWarnings($0, model: e.id, namesShown: false) } ?? [] }
        var result = ModelCompareRequest.Result(
            panels: panels,
            a: Self.evaluationMetrics(ra, classes: dataset.classes), b: Self.evaluationMetrics(rb, classes: dataset.classes),
            ids: ids, split: split,
            pixelAgreement: total > 0 ? Double(same) / Double(total) : 0,
            miouDelta: rb.metrics.miou - ra.metrics.miou,
            perClassIoUDelta: zip(ra.metrics.classIoU, rb.metrics.classIoU).enumerated().map { i, v in
                .init(name: i < dataset.classes.count ? dataset.classes[i] : "class \(i)", delta: v.1 - v.0)
            },
            latencyRatio: la.p50Ms > 0 ? lb.p50Ms / la.p50Ms : 0,
            sizeRatio: a.fileBytes > 0 ? Double(b.fileBytes) / Double(a.fileBytes) : 0)
        if outputDir != nil { result.panelImages = panelImages }
        if !warnings.isEmpty { result.warnings = warnings }
        return result
    }
}
