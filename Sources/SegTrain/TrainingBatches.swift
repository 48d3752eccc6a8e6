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
    func batches(epoch: Int) -> AsyncThrowingStream<TrainBatch, Error>
}

/// The same batch every step, no augmentation: exact checks against another framework
/// (`segslim train --inputs X.npy --labels Y.npy`).
package struct FixedBatch: TrainingBatches {
    package let batch: TrainBatch

    package init(_ batch: TrainBatch) { self.batch = batch }

    package var batchesPerEpoch: Int { 1 }

    package func batches(epoch: Int) -> AsyncThrowingStream<TrainBatch, Error> {
        let batch = batch
        return AsyncThrowingStream { continuation in
            continuation.yield(batch)
            continuation.finish()
        }
    }
}
