import Foundation
import SegImaging
import SegTensor

/// Training batches from a dataset split: a seeded shuffle per epoch, per-sample random
/// augmentation (`AugmentationConfig`), normalization, and decoding on background threads ahead
/// of the consumer.
///
/// ```swift
/// let loader = try TrainingLoader(dataset: d, split: "train", batchSize: 8,
///                                 augmentation: .init(scaleRange: 0.75...1.5, crop: .init(height: 240, width: 320),
///                                                     horizontalFlip: true),
///                                 normalization: .imageNet, seed: 0)
/// for epoch in 0..<40 {
///     let batches = loader.batches(epoch: epoch)
///     while let batch = try batches.next() { ... }   // throws TrainingDataError
/// }
/// ```
///
/// Deterministic: the same seed, epoch and configuration give bit-identical batches for any
/// worker count, prefetch depth or timing. Decoding is the only I/O; nothing is cached between
/// epochs.
package final class TrainingLoader: Sendable {
    package let dataset: Dataset
    package let split: String
    /// The split's samples, all labelled (checked at init).
    package let samples: [Dataset.Sample]
    package let batchSize: Int
    package let augmentation: AugmentationConfig
    package let normalization: Normalization
    package let seed: UInt64
    /// Whether a last, short batch is dropped (true) or delivered with fewer samples.
    package let dropLast: Bool
    /// Background decode threads; 0 decodes on the consumer's thread inside `next()`.
    package let workers: Int
    /// How many batches may be decoded (or decoding) ahead of the one the consumer holds.
    package let prefetch: Int

    /// Checks everything that can be checked without decoding: the split exists and is large
    /// enough, every sample has a readable label file, and the parameters make sense.
    package init(dataset: Dataset, split: String, batchSize: Int, augmentation: AugmentationConfig,
                 normalization: Normalization, seed: UInt64, dropLast: Bool = true,
                 workers: Int = 2, prefetch: Int = 2) throws(TrainingDataError) {
        let samples: [Dataset.Sample]
        do {
            samples = try dataset.samples(split: split)
        } catch {
            throw .invalidConfiguration(error.description)
        }
        guard dataset.numClasses > 0 else {
            throw .invalidConfiguration("\(dataset.root): the dataset names no classes, so no label can be checked (give dataset.json \"classes\" or \"num_classes\")")
        }
        if let problem = augmentation.problem() ?? normalization.problem() { throw .invalidConfiguration(problem) }
        guard batchSize >= 1 else { throw .invalidConfiguration("batchSize \(batchSize) must be at least 1") }
        guard workers >= 0, prefetch >= 1 else {
            throw .invalidConfiguration("workers (\(workers)) must be ≥ 0 and prefetch (\(prefetch)) ≥ 1")
        }
        guard !samples.isEmpty, !dropLast || samples.count >= batchSize else {
            throw .invalidConfiguration("split '\(split)' has \(samples.count) samples, fewer than one batch of \(batchSize)")
        }
        if augmentation.crop == nil, augmentation.scales, batchSize > 1 {
            throw .invalidConfiguration("random scaling without a crop gives every sample its own size; set augmentation.crop or use batchSize 1")
        }
        let fm = FileManager.default
        for s in samples {
            guard let label = s.label else { throw .missingLabel(image: s.image, label: nil) }
            guard fm.isReadableFile(atPath: label) else { throw .missingLabel(image: s.image, label: label) }
        }
        self.dataset = dataset
        self.split = split
        self.samples = samples
        self.batchSize = batchSize
        self.augmentation = augmentation
        self.normalization = normalization
        self.seed = seed
        self.dropLast = dropLast
        self.workers = workers
        self.prefetch = prefetch
    }

    package var batchesPerEpoch: Int {
        dropLast ? samples.count / batchSize : (samples.count + batchSize - 1) / batchSize
    }

    /// The epoch's visiting order (indices into `samples`): a Fisher–Yates shuffle seeded by
    /// (seed, epoch), written out here so no library change can alter it.
    package func order(epoch: Int) -> [Int] {
        var rng = SeededGenerator(seed: SampleAugmentation.derive(seed, 0, UInt64(bitPattern: Int64(epoch))))
        var order = Array(samples.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.int(i + 1)) }
        return order
    }

    /// Sample indices of each batch of the epoch, in delivery order.
    package func batchPlan(epoch: Int) -> [[Int]] {
        let order = order(epoch: epoch)
        return (0..<batchesPerEpoch).map { b in Array(order[b * batchSize..<min(order.count, (b + 1) * batchSize)]) }
    }

    package func augmentation(epoch: Int, sampleIndex: Int) -> SampleAugmentation {
        SampleAugmentation(config: augmentation, seed: seed, epoch: epoch, sampleIndex: sampleIndex)
    }

    /// The epoch's batches, decoded ahead on `workers` threads. Stop early by dropping the
    /// result or calling `cancel()`.
    package func batches(epoch: Int) -> TrainingEpoch {
        TrainingEpoch(loader: self, epoch: epoch)
    }

    /// Stacks samples into one batch; without a crop they must share a size.
    func assemble(_ parts: [TrainingSample]) throws(TrainingDataError) -> TrainingBatch {
        let h = parts[0].height, w = parts[0].width
        var images = [Float](), labels = [Int32]()
        images.reserveCapacity(parts.count * 3 * h * w)
        labels.reserveCapacity(parts.count * h * w)
        for p in parts {
            guard p.height == h, p.width == w else {
                throw .sizeMismatch(file: samples[p.index].image, width: p.width, height: p.height, expectedWidth: w, expectedHeight: h)
            }
            images.append(contentsOf: p.image)
            labels.append(contentsOf: p.label)
        }
        return TrainingBatch(images: images, labels: labels, batch: parts.count, height: h, width: w,
                             sampleIndices: parts.map(\.index))
    }
}
