import SegGraph
import SegProtocol
import SegTechnique

/// Trains the model being compressed on the request's dataset with the server's training
/// engine (`TechniqueContext.trainer`): the step between pruning and quantizing that wins
/// back what pruning cost. Keeps BatchNorm nodes (a later `fuse` folds them) and, by default,
/// their running statistics: fine-tuning on small batches of crops with batch statistics
/// drifts them (measured on the shared LRASPP: −0.56 pt val mIoU in 2 epochs at lr 1e-4 with
/// batch statistics, +0.60 pt frozen). With `teacher` it distils while it trains (channel-wise
/// on the logits by default).
package struct FinetuneTechnique: Technique {
    package static let descriptor = TechniqueDescriptor(
        id: "finetune",
        summary: "Train the model on the request's dataset (after prune, before quantize); the best epoch by val mIoU is kept",
        parameters: [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": .object(TrainingRecipeParameters.properties(Self.defaults)),
        ],
        needs: [.labeledData],
        examples: [
            .init(summary: "two epochs at lr 1e-4 (the default)", parameters: [:]),
            .init(summary: "after pruning: 5 epochs on 240×320 crops with scale jitter",
                  parameters: ["epochs": 5, "lr": 5e-4, "crop": [240, 320], "scale": [0.75, 1.5]]),
            .init(summary: "train only the head", parameters: ["freeze": ["*backbone*"], "epochs": 3]),
            .init(summary: "after pruning, with channel-wise distillation from the unpruned model",
                  parameters: ["epochs": 10, "lr": 5e-4, "crop": [240, 320], "scale": [0.75, 1.5], "teacher": "lraspp_mbv3_camvid.bn.onnx"]),
        ])

    let recipe: ModelTrainRequest.Params

    /// Fine-tuning a trained (pruned) model: a few epochs at a small rate, BN statistics kept.
    static let defaults = TrainingRecipeParameters.Defaults(epochs: 2, lr: 1e-4, freezeBatchNorm: true)

    package init(parameters: JSONValue) throws(TechniqueError) {
        try Self.descriptor.validate(parameters)
        recipe = try TrainingRecipeParameters.recipe(parameters, defaults: Self.defaults)
    }

    package func apply(to model: Model, in context: TechniqueContext) async throws -> TechniqueResult {
        try context.checkCancellation()
        guard let trainer = context.trainer else {
            throw TechniqueError.notApplicable("finetune trains on the request's dataset: give params.dataset (a labelled dataset with train and val splits)")
        }
        let trained = try await trainer.train(model, recipe: recipe, progress: context.progress)
        return TechniqueResult(model: trained.model, details: trained.report)
    }
}
