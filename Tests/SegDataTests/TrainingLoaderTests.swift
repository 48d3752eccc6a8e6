import Foundation
import SegImaging
import Testing
@testable import SegData

/// Tiny PaddleSeg-layout datasets in a temp folder; expectations computed here from the
/// pixel patterns written, not from the loader's own helpers.
final class TrainingLoaderTests {
    let root: URL
    static let mean: [Float] = [0.485, 0.456, 0.406]
    static let std: [Float] = [0.229, 0.224, 0.225]
    let norm = Normalization(mean: TrainingLoaderTests.mean, std: TrainingLoaderTests.std)

    init() throws {
        root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// Sample i: pixel (x, y, c) = (7x + 31y + 80c + 13i) mod 256, label (x + 2y + i) mod 3
    /// with the last pixel void (255).
    static func pixel(_ i: Int, _ x: Int, _ y: Int, _ c: Int) -> UInt8 { UInt8((7 * x + 31 * y + 80 * c + 13 * i) % 256) }
    static func labelValue(_ i: Int, _ x: Int, _ y: Int, width: Int, height: Int) -> UInt8 {
        x == width - 1 && y == height - 1 ? 255 : UInt8((x + 2 * y + i) % 3)
    }

    /// `count` samples of `width × height` (or per-sample sizes), 3 classes, ignore 255.
    func makeDataset(count: Int, width: Int = 6, height: Int = 5, sizes: [Int: (Int, Int)] = [:],
                     labels: [Int: [UInt8]] = [:], listText: String? = nil) throws -> Dataset {
        var lines: [String] = []
        for i in 0..<count {
            let (w, h) = sizes[i] ?? (width, height)
            var rgb = [UInt8](), lab = [UInt8]()
            for y in 0..<h {
                for x in 0..<w {
                    for c in 0..<3 { rgb.append(Self.pixel(i, x, y, c)) }
                    lab.append(Self.labelValue(i, x, y, width: w, height: h))
                }
            }
            try write("img/\(i).png", try Image(width: w, height: h, channels: 3, pixels: rgb))
            try write("lab/\(i).png", try Image(width: w, height: h, channels: 1, pixels: labels[i] ?? lab))
            lines.append("img/\(i).png lab/\(i).png")
        }
        try Data((listText ?? lines.joined(separator: "\n") + "\n").utf8).write(to: root.appendingPathComponent("train.txt"))
        try Data(#"{"classes": ["a", "b", "c"], "ignore_index": 255}"#.utf8).write(to: root.appendingPathComponent("dataset.json"))
        return try Dataset.open(path: root.path)
    }

    func write(_ relative: String, _ image: Image) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(try PNG.encode(image)).write(to: url)
    }

    func normalized(_ v: UInt8, _ c: Int) -> Float { (Float(v) / 255 - Self.mean[c]) / Self.std[c] }

    func all(_ epoch: TrainingEpoch) throws -> [TrainingBatch] {
        var out: [TrainingBatch] = []
        while let b = try epoch.next() { out.append(b) }
        return out
    }

    /// Pixel (x, y, c) of sample `s` of a batch.
    func value(_ b: TrainingBatch, _ s: Int, _ x: Int, _ y: Int, _ c: Int) -> Float {
        b.images[((s * 3 + c) * b.height + y) * b.width + x]
    }

    func label(_ b: TrainingBatch, _ s: Int, _ x: Int, _ y: Int) -> Int32 { b.labels[(s * b.height + y) * b.width + x] }

    // MARK: - Exact pixels

    @Test func noAugmentationGivesExactNormalizedPixels() throws {
        let d = try makeDataset(count: 4)
        let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 2, augmentation: .none, normalization: norm, seed: 3, workers: 0)
        let batches = try all(loader.batches(epoch: 0))
        #expect(batches.count == 2 && loader.batchesPerEpoch == 2)
        #expect(Set(batches.flatMap(\.sampleIndices)) == [0, 1, 2, 3])
        for b in batches {
            #expect(b.batch == 2 && b.height == 5 && b.width == 6)
            #expect(b.images.count == 2 * 3 * 5 * 6 && b.labels.count == 2 * 5 * 6)
            for (s, i) in b.sampleIndices.enumerated() {
                for y in 0..<5 {
                    for x in 0..<6 {
                        for c in 0..<3 { #expect(abs(value(b, s, x, y, c) - normalized(Self.pixel(i, x, y, c), c)) < 1e-5) }
                        #expect(label(b, s, x, y) == Int32(Self.labelValue(i, x, y, width: 6, height: 5)))
                    }
                }
            }
        }
    }

    @Test func flipMirrorsImageAndLabelTogether() throws {
        let d = try makeDataset(count: 8)
        let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 1, augmentation: .init(horizontalFlip: true),
                                        normalization: norm, seed: 11, workers: 0)
        let flips = (0..<8).map { loader.augmentation(epoch: 0, sampleIndex: $0).flip }
        #expect(flips.contains(true) && flips.contains(false))  // with 8 fair coins, both (p = 1 − 2⁻⁷)
        for b in try all(loader.batches(epoch: 0)) {
            let i = b.sampleIndices[0]
            for y in 0..<5 {
                for x in 0..<6 {
                    let sx = flips[i] ? 5 - x : x
                    for c in 0..<3 { #expect(abs(value(b, 0, x, y, c) - normalized(Self.pixel(i, sx, y, c), c)) < 1e-5) }
                    #expect(label(b, 0, x, y) == Int32(Self.labelValue(i, sx, y, width: 6, height: 5)))
                }
            }
        }
    }

    @Test func cropTakesTheDrawnWindowAndPadsWithIgnoreIndex() throws {
        let d = try makeDataset(count: 6, width: 6, height: 5)
        // 4×3 window inside a 6×5 sample; 7×8 needs padding below and to the right.
        for (crop, flip) in [(AugmentationConfig.CropSize(height: 3, width: 4), true), (.init(height: 7, width: 8), true),
                             (.init(height: 7, width: 8), false)] {
            let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 3, augmentation: .init(crop: crop, horizontalFlip: flip),
                                            normalization: norm, seed: 5, workers: 0)
            for b in try all(loader.batches(epoch: 2)) {
                #expect(b.height == crop.height && b.width == crop.width)
                for (s, i) in b.sampleIndices.enumerated() {
                    let p = loader.augmentation(epoch: 2, sampleIndex: i)
                    let (oy, ox) = p.cropOrigin(height: 5, width: 6, crop: crop)
                    #expect(oy + min(crop.height, 5) <= 5 && ox + min(crop.width, 6) <= 6)
                    for y in 0..<crop.height {
                        for x in 0..<crop.width {
                            // Position in the flipped-then-padded sample, then back to the file.
                            let fy = oy + y, fx = ox + x
                            guard fy < 5, fx < 6 else {
                                #expect(label(b, s, x, y) == 255)
                                for c in 0..<3 { #expect(value(b, s, x, y, c) == 0) }
                                continue
                            }
                            let sx = p.flip ? 5 - fx : fx
                            for c in 0..<3 { #expect(abs(value(b, s, x, y, c) - normalized(Self.pixel(i, sx, fy, c), c)) < 1e-5) }
                            #expect(label(b, s, x, y) == Int32(Self.labelValue(i, sx, fy, width: 6, height: 5)))
                        }
                    }
                }
            }
        }
    }

    @Test func scalingResizesLabelsByNearestNeighbour() throws {
        let d = try makeDataset(count: 2)
        let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 1, augmentation: .init(scaleRange: 2...2),
                                        normalization: norm, seed: 0, workers: 0)
        for b in try all(loader.batches(epoch: 0)) {
            #expect(b.height == 10 && b.width == 12)
            let i = b.sampleIndices[0]
            for y in 0..<10 {
                for x in 0..<12 { #expect(label(b, 0, x, y) == Int32(Self.labelValue(i, x / 2, y / 2, width: 6, height: 5))) }
            }
            // Half-pixel bilinear at exactly 2×: output (0, 0) is source (0, 0) (clamped edge).
            #expect(abs(value(b, 0, 0, 0, 1) - normalized(Self.pixel(i, 0, 0, 1), 1)) < 1e-5)
        }
        let ranged = try TrainingLoader(dataset: d, split: "train", batchSize: 1, augmentation: .init(scaleRange: 0.5...1.5),
                                        normalization: norm, seed: 0, workers: 0)
        for e in 0..<4 {
            for b in try all(ranged.batches(epoch: e)) {
                let s = ranged.augmentation(epoch: e, sampleIndex: b.sampleIndices[0]).scale
                #expect(s >= 0.5 && s <= 1.5)
                #expect(b.height == max(1, Int((5 * s).rounded())) && b.width == max(1, Int((6 * s).rounded())))
            }
        }
    }

    @Test func scaledCropsEqualTheWindowOfTheWholeScaledSample() throws {
        let d = try makeDataset(count: 6)
        let crop = AugmentationConfig.CropSize(height: 4, width: 5)
        let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 2,
                                        augmentation: .init(scaleRange: 0.6...1.8, crop: crop, horizontalFlip: true),
                                        normalization: norm, seed: 21, workers: 0)
        var sawPadding = false, sawUpscale = false
        for e in 0..<3 {
            for b in try all(loader.batches(epoch: e)) {
                for (s, i) in b.sampleIndices.enumerated() {
                    let p = loader.augmentation(epoch: e, sampleIndex: i)
                    let (image, lab) = try d.load(d.splits["train"]![i])
                    let h = max(1, Int((5 * p.scale).rounded())), w = max(1, Int((6 * p.scale).rounded()))
                    // Reference: the whole sample resized, flipped, then windowed.
                    var full = try image.resizedBilinear(width: w, height: h)
                    var fullLabel = try #require(lab).resizedNearest(width: w, height: h, rule: .floor)
                    if p.flip {
                        full = full.oriented(.upMirrored)
                        fullLabel = fullLabel.oriented(.upMirrored)
                    }
                    let (oy, ox) = p.cropOrigin(height: h, width: w, crop: crop)
                    sawPadding = sawPadding || h < 4 || w < 5
                    sawUpscale = sawUpscale || p.scale > 1.2
                    for y in 0..<4 {
                        for x in 0..<5 {
                            let fy = oy + y, fx = ox + x
                            let inside = fy < h && fx < w
                            #expect(label(b, s, x, y) == (inside ? Int32(fullLabel.pixels[fy * w + fx]) : 255))
                            for c in 0..<3 {
                                let expected = inside ? normalized(full[fx, fy, c], c) : 0
                                #expect(abs(value(b, s, x, y, c) - expected) < 1e-5)
                            }
                        }
                    }
                }
            }
        }
        #expect(sawPadding && sawUpscale)
    }

    @Test func brightnessAndSaturationFollowTheirFormulas() throws {
        let d = try makeDataset(count: 3)
        let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 1, augmentation: .init(brightness: 0.5),
                                        normalization: norm, seed: 2, workers: 0)
        for b in try all(loader.batches(epoch: 1)) {
            let i = b.sampleIndices[0]
            let f = loader.augmentation(epoch: 1, sampleIndex: i).brightness
            #expect(f >= 0.5 && f <= 1.5 && f != 1)
            for c in 0..<3 {
                let v = Self.pixel(i, 3, 2, c)
                let expected = UInt8(min(255, (Float(v) * f).rounded()))
                #expect(abs(value(b, 0, 3, 2, c) - normalized(expected, c)) < 1e-5)
            }
        }
        // Saturation 0 (factor range [0, 2]) with factor f: each channel moves toward its pixel's grey.
        let sat = try TrainingLoader(dataset: d, split: "train", batchSize: 1, augmentation: .init(saturation: 1),
                                     normalization: norm, seed: 2, workers: 0)
        for b in try all(sat.batches(epoch: 0)) {
            let i = b.sampleIndices[0]
            let f = sat.augmentation(epoch: 0, sampleIndex: i).saturation
            let rgb = (0..<3).map { Float(Self.pixel(i, 1, 4, $0)) }
            let grey = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
            for c in 0..<3 {
                let expected = UInt8(min(255, max(0, (f * rgb[c] + (1 - f) * grey).rounded())))
                #expect(abs(value(b, 0, 1, 4, c) - normalized(expected, c)) < 1e-5)
            }
        }
    }

    @Test func contrastBlendsWithTheMeanGreyAndLeavesPaddingAlone() throws {
        let d = try makeDataset(count: 2)
        let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 2, augmentation: .init(crop: .init(height: 7, width: 8), contrast: 0.8),
                                        normalization: norm, seed: 9, workers: 0)
        let b = try #require(try loader.batches(epoch: 0).next())
        for (s, i) in b.sampleIndices.enumerated() {
            let f = loader.augmentation(epoch: 0, sampleIndex: i).contrast
            #expect(f >= 0.2 && f <= 1.8 && f != 1)
            var sum: Float = 0
            for y in 0..<5 {
                for x in 0..<6 { sum += 0.299 * Float(Self.pixel(i, x, y, 0)) + 0.587 * Float(Self.pixel(i, x, y, 1)) + 0.114 * Float(Self.pixel(i, x, y, 2)) }
            }
            let mean = sum / 30
            for y in 0..<7 {
                for x in 0..<8 {
                    guard y < 5, x < 6 else {
                        for c in 0..<3 { #expect(value(b, s, x, y, c) == 0) }
                        #expect(label(b, s, x, y) == 255)
                        continue
                    }
                    for c in 0..<3 {
                        let expected = UInt8(min(255, max(0, (f * Float(Self.pixel(i, x, y, c)) + (1 - f) * mean).rounded())))
                        // One 8-bit step of slack: the mean is summed in another precision here.
                        #expect(abs(value(b, s, x, y, c) - normalized(expected, c)) <= 1.01 / 255 / Self.std[c])
                    }
                }
            }
        }
    }

    @Test func labelsPassThroughTheDatasetsLabelMapping() throws {
        // Cityscapes labelIds: 7 → road (0), 26 → car (13), 0 → void (255).
        let ids: [UInt8] = [7, 26, 0, 7, 26, 0]
        try write("leftImg8bit/train/x/a_000001_leftImg8bit.png", try Image(width: 3, height: 2, channels: 3, fill: 90))
        try write("gtFine/train/x/a_000001_gtFine_labelIds.png", try Image(width: 3, height: 2, channels: 1, pixels: ids))
        let d = try Dataset.open(path: root.path)
        let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 1, augmentation: .none, normalization: norm, seed: 0, workers: 1)
        let b = try #require(try loader.batches(epoch: 0).next())
        #expect(b.labels == [0, 13, 255, 0, 13, 255])
    }

    // MARK: - Determinism and shuffling

    @Test func batchesAreIdenticalForAnyWorkerCountAndPrefetch() throws {
        let d = try makeDataset(count: 10, sizes: [3: (9, 7), 7: (4, 3)])
        let aug = AugmentationConfig(scaleRange: 0.5...1.5, crop: .init(height: 4, width: 5), horizontalFlip: true,
                                     brightness: 0.4, contrast: 0.4, saturation: 0.4)
        func run(workers: Int, prefetch: Int, epoch: Int) throws -> [TrainingBatch] {
            let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 3, augmentation: aug, normalization: norm,
                                            seed: 42, dropLast: false, workers: workers, prefetch: prefetch)
            return try all(loader.batches(epoch: epoch))
        }
        for epoch in 0..<2 {
            let reference = try run(workers: 0, prefetch: 1, epoch: epoch)
            #expect(reference.map(\.batch) == [3, 3, 3, 1])
            #expect(try run(workers: 1, prefetch: 1, epoch: epoch) == reference)
            #expect(try run(workers: 3, prefetch: 3, epoch: epoch) == reference)
            #expect(try run(workers: 2, prefetch: 1, epoch: epoch) == reference)
        }
        #expect(try run(workers: 2, prefetch: 2, epoch: 0) != run(workers: 2, prefetch: 2, epoch: 1))
    }

    @Test func shuffleIsAPermutationThatDependsOnSeedAndEpoch() throws {
        let d = try makeDataset(count: 12)
        func loader(seed: UInt64) throws -> TrainingLoader {
            try TrainingLoader(dataset: d, split: "train", batchSize: 5, augmentation: .none, normalization: norm, seed: seed)
        }
        let a = try loader(seed: 1), b = try loader(seed: 2)
        #expect(a.order(epoch: 0).sorted() == Array(0..<12))
        #expect(a.order(epoch: 0) == (try loader(seed: 1)).order(epoch: 0))
        #expect(a.order(epoch: 0) != a.order(epoch: 1))
        #expect(a.order(epoch: 0) != b.order(epoch: 0))
        // dropLast: two batches of 5, the last two samples of the order wait for another epoch.
        #expect(a.batchPlan(epoch: 3) == [Array(a.order(epoch: 3)[0..<5]), Array(a.order(epoch: 3)[5..<10])])
        let epoch = a.batches(epoch: 3)
        #expect(try epoch.next()?.sampleIndices == Array(a.order(epoch: 3)[0..<5]))
    }

    // MARK: - Bad input

    @Test func outOfRangeLabelIsAnErrorNamingTheFileAndValue() throws {
        var bad = [UInt8](repeating: 1, count: 30)
        bad[17] = 7
        let d = try makeDataset(count: 4, labels: [2: bad])
        let labelPath = try #require(d.splits["train"]?[2].label)
        for workers in [0, 2] {
            let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 4, augmentation: .none, normalization: norm,
                                            seed: 0, workers: workers)
            let epoch = loader.batches(epoch: 0)
            #expect(throws: TrainingDataError.labelOutOfRange(file: labelPath, value: 7, numClasses: 3, ignoreIndex: 255)) {
                try epoch.next()
            }
            #expect(try epoch.next() == nil)  // the epoch ends at its error
        }
        #expect(TrainingDataError.labelOutOfRange(file: labelPath, value: 7, numClasses: 3, ignoreIndex: 255).description.contains(labelPath))
    }

    @Test func missingLabelsAreReportedAtInit() throws {
        _ = try makeDataset(count: 2, listText: "img/0.png lab/0.png\nimg/1.png\n")
        let d = try Dataset.open(path: root.path)
        let image1 = try #require(d.splits["train"]?[1].image)
        #expect(throws: TrainingDataError.missingLabel(image: image1, label: nil)) {
            try TrainingLoader(dataset: d, split: "train", batchSize: 1, augmentation: .none, normalization: norm, seed: 0)
        }
        try Data("img/0.png lab/0.png\nimg/1.png lab/gone.png\n".utf8).write(to: root.appendingPathComponent("train.txt"))
        let d2 = try Dataset.open(path: root.path)
        let gone = try #require(d2.splits["train"]?[1].label)
        #expect(throws: TrainingDataError.missingLabel(image: image1, label: gone)) {
            try TrainingLoader(dataset: d2, split: "train", batchSize: 1, augmentation: .none, normalization: norm, seed: 0)
        }
        #expect(TrainingDataError.missingLabel(image: image1, label: nil).description.contains(image1))
    }

    @Test func inconsistentSettingsAndSizesAreClearErrors() throws {
        let d = try makeDataset(count: 3, sizes: [1: (4, 4)])
        func make(_ aug: AugmentationConfig, batch: Int = 2, split: String = "train", n: Normalization? = nil) throws -> TrainingLoader {
            try TrainingLoader(dataset: d, split: split, batchSize: batch, augmentation: aug, normalization: n ?? norm, seed: 0, workers: 0)
        }
        #expect(throws: TrainingDataError.self) { try make(.init(scaleRange: 0.5...2)) }  // sizes differ, no crop
        #expect(throws: TrainingDataError.self) { try make(.none, batch: 4) }
        #expect(throws: TrainingDataError.self) { try make(.none, split: "val") }
        #expect(throws: TrainingDataError.self) { try make(.init(scaleRange: 0...1, crop: .init(height: 2, width: 2))) }
        #expect(throws: TrainingDataError.self) { try make(.none, n: Normalization(mean: [0], std: [1])) }
        #expect(throws: TrainingDataError.self) { try make(.init(brightness: -1)) }
        // A folder dataset without dataset.json has no classes to check labels against.
        try write("noclasses/images/a.png", try Image(width: 2, height: 2, channels: 3, fill: 1))
        try write("noclasses/masks/a.png", try Image(width: 2, height: 2, channels: 1, fill: 0))
        let bare = try Dataset.open(path: root.appendingPathComponent("noclasses").path)
        #expect(bare.numClasses == 0)
        do {
            _ = try TrainingLoader(dataset: bare, split: "all", batchSize: 1, augmentation: .none, normalization: norm, seed: 0)
            Issue.record("a dataset without classes accepted")
        } catch {
            #expect(error.description.contains("names no classes"))
        }
        // Sample 1 is 4×4, the others 6×5: whichever batch mixes them names sample 1's image or the other.
        let loader = try make(.none, batch: 3)
        do {
            _ = try loader.batches(epoch: 0).next()
            Issue.record("mixed sizes without a crop accepted")
        } catch {
            guard case .sizeMismatch(let file, _, _, _, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(file.hasSuffix(".png") && file.contains("/img/"))
        }
    }

    // MARK: - Stopping

    @Test func droppingAnEpochEarlyStopsItsWorkers() throws {
        let d = try makeDataset(count: 16)
        let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 2, augmentation: .init(horizontalFlip: true),
                                        normalization: norm, seed: 0, workers: 2, prefetch: 1)
        var pipeline: EpochPipeline?
        do {
            let epoch = loader.batches(epoch: 0)
            pipeline = epoch.pipeline
            #expect(try epoch.next() != nil)
        }
        // Generous bound: it only fails if a worker never stops.
        #expect(pipeline?.waitUntilStopped(timeout: 60) == true)
        #expect(pipeline?.runningWorkers == 0)

        let epoch = loader.batches(epoch: 1)
        #expect(try epoch.next() != nil)
        epoch.cancel()
        #expect(epoch.pipeline.runningWorkers == 0)
        #expect(try epoch.next() == nil)
        // A finished epoch leaves no worker behind either.
        let full = loader.batches(epoch: 2)
        #expect(try all(full).count == 8)
        #expect(full.pipeline.waitUntilStopped(timeout: 60))
    }

    @Test func asyncIterationMatchesBlockingAndStopsWithItsTask() async throws {
        var bad = [UInt8](repeating: 0, count: 30)
        bad[3] = 9
        let d = try makeDataset(count: 12, labels: [11: bad])
        let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 2, augmentation: .init(horizontalFlip: true),
                                        normalization: norm, seed: 4, workers: 2, prefetch: 1)
        // Sample 11 is in every epoch (12 samples, batches of 2): compare the first three batches
        // of an epoch that reaches it later.
        let clean = try #require((0..<20).first { e in !loader.batchPlan(epoch: e).prefix(3).joined().contains(11) })
        var blocking: [TrainingBatch] = []
        let sync = loader.batches(epoch: clean)
        for _ in 0..<3 { blocking.append(try #require(try sync.next())) }
        var streamed: [TrainingBatch] = []
        for try await batch in loader.batches(epoch: clean) {
            streamed.append(batch)
            if streamed.count == 3 { break }
        }
        #expect(streamed == blocking)

        // A typed error comes through `for try await`.
        do {
            for try await _ in loader.batches(epoch: 0) {}
            Issue.record("bad label accepted")
        } catch {
            #expect(error == .labelOutOfRange(file: try #require(d.splits["train"]?[11].label), value: 9, numClasses: 3, ignoreIndex: 255))
        }

        // Cancelling the consuming task ends the iteration and stops the workers.
        let epoch = loader.batches(epoch: clean)
        let task = Task { () -> Int in
            var n = 0
            for try await _ in epoch {
                n += 1
                withUnsafeCurrentTask { $0?.cancel() }
            }
            return n
        }
        #expect(try await task.value == 1)
        #expect(epoch.pipeline.waitUntilStopped(timeout: 60))
        #expect(try epoch.next() == nil)
    }
}
