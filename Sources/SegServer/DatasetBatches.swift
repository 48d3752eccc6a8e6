import Foundation
import SegAutodiff
import SegData
import SegPipeline
import SegProtocol
import SegTrain

/// Batches from a dataset split, augmented as the request asks, from SegData's training
/// loader (seeded shuffle, scale, crop, flip, jitter; decoded on worker threads ahead of the
/// trainer), normalised the way the model's preprocessing says.
struct DatasetBatches: TrainingBatches {
    let loader: TrainingLoader

    static func make(_ p: ModelTrainRequest.Params, dataset: Dataset, split: String,
                     preprocessing: Preprocessing?) throws -> (any TrainingBatches, Int) {
        guard dataset.splits[split] != nil else {
            throw ResponseError(.datasetError, "params.split: no split '\(split)' in \(dataset.root) (splits: \(dataset.splitNames.joined(separator: ", ")))")
        }
        if let pre = preprocessing, pre.bgr {
            throw ResponseError.invalidParams("params.dataset: the model takes BGR input; training feeds RGB (not supported yet)")
        }
        let a = p.augmentation
        let scale = a?.scale.map { Float($0[0])...Float($0[1]) } ?? 1...1
        let augmentation = AugmentationConfig(
            scaleRange: scale, crop: p.crop.map { .init(height: $0[0], width: $0[1]) },
            horizontalFlip: a?.flip ?? true,
            brightness: Float(a?.brightness ?? 0), contrast: Float(a?.contrast ?? 0), saturation: Float(a?.saturation ?? 0))
        let normalization = preprocessing.map { Normalization(mean: $0.mean, std: $0.std, scale: $0.scale) } ?? .imageNet
        do {
            let loader = try TrainingLoader(dataset: dataset, split: split, batchSize: p.batchSize ?? 8, augmentation: augmentation,
                                            normalization: normalization, seed: UInt64(p.seed ?? 0),
                                            workers: max(1, min(4, ProcessInfo.processInfo.activeProcessorCount)), prefetch: 2)
            return (DatasetBatches(loader: loader), loader.batchesPerEpoch)
        } catch {
            throw Self.wire(error)
        }
    }

    /// Loader errors in the protocol's kinds: bad settings are InvalidParams, bad data
    /// DatasetError, labels out of range TrainingFailed (as the loss reports them).
    static func wire(_ error: TrainingDataError) -> ResponseError {
        switch error {
        case .invalidConfiguration(let why): return ResponseError.invalidParams("params: \(why)")
        case .labelOutOfRange: return ResponseError(.trainingFailed, error.description)
        default: return ResponseError(.datasetError, error.description)
        }
    }

    var batchesPerEpoch: Int { loader.batchesPerEpoch }

    func batches(epoch: Int) -> any BatchIterator {
        Epoch(loader.batches(epoch: epoch), ignoreIndex: Int32(loader.dataset.ignoreIndex))
    }

    final class Epoch: BatchIterator {
        let epoch: TrainingEpoch
        let ignoreIndex: Int32

        init(_ epoch: TrainingEpoch, ignoreIndex: Int32) {
            self.epoch = epoch
            self.ignoreIndex = ignoreIndex
        }

        func next() async throws -> TrainBatch? {
            let batch: TrainingBatch?
            do { batch = try await epoch.nextAsync() } catch { throw DatasetBatches.wire(error) }
            guard let b = batch else { return nil }
            return TrainBatch(images: FloatTensor(dims: [b.batch, 3, b.height, b.width], scalars: b.images),
                              labels: LabelBatch(dims: [b.batch, b.height, b.width], values: b.labels, ignoreIndex: ignoreIndex))
        }
    }
}
