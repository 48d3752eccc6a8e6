import SegData
import SegPipeline
import SegProtocol
import SegTrain

/// Batches from a dataset split, augmented as the request asks (SegData's training loader).
enum DatasetBatches {
    static func make(_ p: ModelTrainRequest.Params, dataset: Dataset, split: String,
                     preprocessing: Preprocessing?) throws -> (any TrainingBatches, Int) {
        // Replaced when the loader lands (same session): until then, fixed batches only.
        throw ResponseError.invalidParams("params.dataset: training on a dataset is not available in this build; use inputs and labels")
    }
}
