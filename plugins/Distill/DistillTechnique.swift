import SegGraph
import SegProtocol
import SegTechnique

/// Trains a student with a teacher's guidance on the request's dataset: the student is the
/// model being compressed (a pruned or slim model, or one `model/build` wrote) or a file
/// (`student`), the teacher a resident model or a file run in inference for each batch.
/// Defaults are the from-scratch recipe of the shared models (40 epochs, AdamW 2e-3, cosine,
/// 240×320 crops at scale 0.75–1.5, BatchNorm statistics trained) with channel-wise
/// distillation of the logits (weight 3, T 4) beside the task loss.
package struct DistillTechnique: Technique {
    static let defaults = TrainingRecipeParameters.Defaults(epochs: 40, lr: 2e-3, freezeBatchNorm: false,
                                                            crop: [240, 320], scale: [0.75, 1.5])

    package static let descriptor: TechniqueDescriptor = {
        var properties = TrainingRecipeParameters.properties(defaults)
        properties["student"] = ["type": "string", "description": "Train this ONNX file instead of the model being compressed (a student from `segslim build`)."]
        return TechniqueDescriptor(
            id: "distill",
            summary: "Train a student with a teacher's guidance (channel-wise and Hinton KD on the logits, FitNets feature pairs) on the request's dataset",
            parameters: [
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "required": ["teacher"],
                "properties": .object(properties),
            ],
            needs: [.labeledData],
            examples: [
                .init(summary: "the small LRASPP student from scratch, channel-wise KD from the shared model",
                      parameters: ["teacher": "lraspp_mbv3_camvid.bn.onnx", "student": "student.onnx"]),
                .init(summary: "Hinton KD only, at temperature 2",
                      parameters: ["teacher": "teacher", "kdChannelWise": 0, "kdLogits": 0.5, "kdLogitTemperature": 2]),
            ])
    }()

    let recipe: ModelTrainRequest.Params
    let studentPath: String?

    package init(parameters: JSONValue) throws(TechniqueError) {
        try Self.descriptor.validate(parameters)
        recipe = try TrainingRecipeParameters.recipe(parameters, defaults: Self.defaults)
        studentPath = parameters["student"]?.stringValue
    }

    package func apply(to model: Model, in context: TechniqueContext) async throws -> TechniqueResult {
        try context.checkCancellation()
        guard let trainer = context.trainer else {
            throw TechniqueError.notApplicable("distill trains on the request's dataset: give params.dataset (a labelled dataset with train and val splits)")
        }
        let student = try studentPath.map { path in try trainer.loadStudent(path) } ?? model
        let trained = try await trainer.train(student, recipe: recipe, progress: context.progress)
        return TechniqueResult(model: trained.model, details: trained.report)
    }
}
