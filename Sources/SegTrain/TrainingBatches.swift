import SegAutodiff

/// One training batch: normalised images N×3×H×W and their labels.
package struct TrainBatch: Sendable {
    package var images: FloatTensor
    package var labels: LabelBatch?

    package init(images: FloatTensor, labels: LabelBatch?) {
        self.images = images
        self.labels = labels
    }
}

/// Where a training run's batches come from, epoch by epoch.
package protocol TrainingBatches: Sendable {
    var batchesPerEpoch: Int { get }
    /// The batches of epoch `epoch` (0-based), in order; same seed and epoch, same batches.
    /// Pulled one at a time, so a loader's bounded prefetch is the only read-ahead; dropping
    /// the iterator stops whatever it had running.
    func batches(epoch: Int) -> any BatchIterator
}

/// One epoch's batches, pulled by the training loop.
package protocol BatchIterator: AnyObject {
    func next() async throws -> TrainBatch?
}

/// The same batch every step, no augmentation: exact checks against another framework
/// (`segslim train --inputs X.npy --labels Y.npy`).
package struct FixedBatch: TrainingBatches {
    package let batch: TrainBatch

    package init(_ batch: TrainBatch) { self.batch = batch }

    package var batchesPerEpoch: Int { 1 }

    package func batches(epoch: Int) -> any BatchIterator { Once(batch) }

    final class Once: BatchIterator {
        private var batch: TrainBatch?
        init(_ batch: TrainBatch) { self.batch = batch }
        func next() async throws -> TrainBatch? {
            defer { batch = nil }
            return batch
        }
    }
}
