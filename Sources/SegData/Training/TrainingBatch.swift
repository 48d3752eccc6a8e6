/// One batch ready for a training step.
package struct TrainingBatch: Sendable, Equatable {
    /// `batch × 3 × height × width` normalized RGB, NCHW; padding is exactly 0.
    package var images: [Float]
    /// `batch × height × width` class ids; void and padding hold the dataset's ignore index.
    package var labels: [Int32]
    package var batch: Int
    package var height: Int
    package var width: Int
    /// Which samples of the split (indices into `Dataset.samples(split:)`) fill the batch, in order.
    package var sampleIndices: [Int]
}

/// One augmented, normalized sample: a batch of one before batching.
package struct TrainingSample: Sendable, Equatable {
    /// `3 × height × width` normalized RGB (CHW).
    package var image: [Float]
    /// `height × width` class ids.
    package var label: [Int32]
    package var height: Int
    package var width: Int
    package var index: Int
}

/// Why the loader could not produce a batch. Every case names the file or field at fault.
package enum TrainingDataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A sample of the training split has no label file (or it cannot be read).
    case missingLabel(image: String, label: String?)
    /// A label value, after the dataset's label mapping, that is neither a class id
    /// (0..<numClasses) nor the ignore index.
    case labelOutOfRange(file: String, value: Int, numClasses: Int, ignoreIndex: Int)
    /// Without a crop, every sample of a batch must have the batch's size.
    case sizeMismatch(file: String, width: Int, height: Int, expectedWidth: Int, expectedHeight: Int)
    /// Decoding or reading failed; the message names the file.
    case unreadable(String)
    /// The loader's own parameters are inconsistent (split, batch size, augmentation, normalization).
    case invalidConfiguration(String)

    package var description: String {
        switch self {
        case .missingLabel(let image, nil):
            return "\(image): no label for this training image"
        case .missingLabel(let image, let label?):
            return "\(label): label of \(image) cannot be read"
        case .labelOutOfRange(let file, let value, let n, let ignore):
            return "\(file): label value \(value) is not a class id (0...\(n - 1)) or the ignore index \(ignore)"
        case .sizeMismatch(let file, let w, let h, let ew, let eh):
            return "\(file): image is \(w)×\(h) but the batch is \(ew)×\(eh); set a crop size to train on images of different sizes"
        case .unreadable(let message): return message
        case .invalidConfiguration(let message): return message
        }
    }
}
