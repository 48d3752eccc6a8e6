import SegGraph
import SegReference

/// The one place that decides whether a model is image-in, mask-out: one 4-D float input
/// (N, C, H, W) and an output of class scores. A model that is not still loads and runs
/// (`model/run`); it only cannot segment images.
package enum ImageModel {
    /// What an image segmentation model needs, in words, for error messages.
    package static let requirement = "it needs one 4-D float input with 3 channels (N, 3, H, W) and a [1, classes, H, W] output "
        + "(or mask-classification outputs: class logits [1, Q, classes+1] and mask logits [1, Q, h, w])"

    /// Why a model with this interface cannot take images, or nil when its input can.
    package static func inputProblem(_ summary: ModelSummary) -> String? {
        guard summary.inputs.count == 1, let input = summary.inputs.first else {
            return "it has \(summary.inputs.count) runtime inputs, not one"
        }
        guard let rank = input.shape?.count, rank == 4 else {
            return "its input '\(input.name)' has \(input.shape.map { "rank \($0.count)" } ?? "an unknown shape"), not rank 4"
        }
        if let dtype = input.dtype, dtype != .f32 {
            return "its input '\(input.name)' is \(dtype.rawValue), not float"
        }
        // Images are fed as RGB (or BGR) planes: a fixed channel count other than 3 cannot
        // take them (a symbolic one can).
        if let shape = input.shape, case .value(let channels) = shape[1], channels != 3 {
            return "its input '\(input.name)' has \(channels) channels (\(shape.map(\.description).joined(separator: "×"))); an image model takes 3 (N, 3, H, W)"
        }
        return nil
    }

    /// Classes the first output predicts: its dim 1 when it is a 4-D [N, classes, H, W] with
    /// that dim known; for a mask-classification head, C of its [B, Q, C+1] class logits.
    package static func classCount(_ summary: ModelSummary) -> Int? {
        if let head = MaskClassification.detect(outputs: summary.outputs) { return head.classes }
        guard let out = summary.outputs.first?.shape, out.count == 4, case .value(let c) = out[1] else { return nil }
        return c
    }

    /// The model's mask-classification head, declared in its metadata or recognised by the
    /// shapes of its outputs (inferred ones when `summary` is given, else those the graph
    /// declares); nil for a per-pixel class-score (or class-id) output.
    package static func head(_ model: Model, summary: ModelSummary? = nil) -> MaskClassification? {
        guard let summary else { return MaskClassification.detect(model) }
        return MaskClassification.detect(outputs: summary.outputs, metadata: model.metadata)
    }

    /// How images become this model's input (its `segslim.*` metadata, then `overrides`), or
    /// nil when its input is not an image (see `inputProblem`).
    package static func preprocessing(_ model: Model, summary: ModelSummary, overrides: [String: String] = [:]) throws(PipelineError) -> Preprocessing? {
        guard inputProblem(summary) == nil else { return nil }
        let head = MaskClassification.detect(outputs: summary.outputs, metadata: model.metadata)
        return try Preprocessing(model: model, numClasses: head.map(\.classes) ?? classCount(summary), overrides: overrides)
    }
}

extension Segmenter {
    /// A segmenter for `model` run by `runner`, or `PipelineError.model` saying why it is not
    /// an image segmentation model (no preprocessing, i.e. not an image input, or no output).
    package init(imageModel model: Model, runner: any ModelRunner, preprocessing: Preprocessing?, summary: ModelSummary? = nil) throws(PipelineError) {
        guard let preprocessing, let output = model.graph.outputs.first?.name else { throw .model(ImageModel.requirement) }
        self.init(runner: runner, preprocessing: preprocessing, outputName: output, maskClassification: ImageModel.head(model, summary: summary))
    }
}
