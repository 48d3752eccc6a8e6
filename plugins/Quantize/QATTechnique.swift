import SegGraph
import SegProtocol
import SegTechnique

/// Quantization-aware training. A float model is first quantized exactly as `quantize` does
/// by default (same placement: per-channel s8 weights, u8 activations, fused activations, the
/// float head; same calibrated ranges); a QDQ model starts from its own scales. The QDQ model
/// is then trained as fake quantization (`FakeQuantModel`: float weights behind
/// QuantizeLinear → DequantizeLinear, straight-through gradients; with `lsq` the scales learn
/// too) on the request's dataset through `TechniqueContext.trainer`, and written back in the
/// same QDQ layout, so the INT8 kernels and ONNX Runtime run it as they run the PTQ model.
///
/// BatchNorm: folded before quantizing (the post-training quantizer's preparation folds it), so
/// QAT trains the folded weights; batch statistics never enter the quantized graph.
package struct QATTechnique: Technique {
    package static let descriptor = TechniqueDescriptor(
        id: "qat",
        summary: "Quantization-aware training: post-training INT8 (the quantize default) then fake-quant training on the dataset (STE or LSQ), written as the same QDQ ONNX",
        parameters: [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": .object(Self.properties),
        ],
        needs: [.calibrationData, .labeledData],
        examples: [
            .init(summary: "one epoch from the default INT8 model (straight-through estimator)", parameters: [:]),
            .init(summary: "three epochs with learned step sizes", parameters: ["epochs": 3, "lsq": true]),
            .init(summary: "learned activation ranges only, on 240×320 crops", parameters: ["lsq": true, "freezeScales": "weights", "crop": [240, 320]]),
        ])

    let recipe: ModelTrainRequest.Params
    let lsq: Bool
    let freezeScales: String
    let keepBetter: Bool

    /// Small steps from the PTQ codes; no weight decay (it pulls weights off the codes the
    /// ranges were chosen for); BatchNorm is folded before QAT, so its statistics never move.
    static let defaults = TrainingRecipeParameters.Defaults(epochs: 1, lr: 1e-5, freezeBatchNorm: true, weightDecay: 0)

    /// The shared training parameters (a teacher distils while QAT trains) and QAT's own.
    static let properties: [String: JSONValue] = {
        var p = TrainingRecipeParameters.properties(defaults)
        p["freezeBatchNorm"] = nil
        p["lsq"] = ["type": "boolean", "default": false, "description": "Learn the scales too (LSQ step sizes, gradient scaled by 1/sqrt(N·Qp)); false: scales stay at the PTQ ranges."]
        p["freezeScales"] = ["enum": ["none", "weights", "activations"], "default": "none",
                             "description": "With lsq: keep the weight scales or the activation scales fixed."]
        p["keepBetter"] = ["type": "boolean", "default": true,
                           "description": "Score the PTQ start and the QAT result on the request's split and return the better one."]
        return p
    }()

    package init(parameters: JSONValue) throws(TechniqueError) {
        try Self.descriptor.validate(parameters)
        let o = parameters.objectValue ?? [:]
        var r = try TrainingRecipeParameters.recipe(parameters, defaults: Self.defaults)
        lsq = o["lsq"]?.boolValue ?? false
        freezeScales = o["freezeScales"]?.stringValue ?? "none"
        if freezeScales != "none" && !lsq {
            throw .invalidParameter(name: "freezeScales", reason: "applies only with lsq: without it every scale stays fixed")
        }
        r.trainQuantizationScales = lsq
        keepBetter = o["keepBetter"]?.boolValue ?? true
        recipe = r
    }

    package func apply(to model: Model, in context: TechniqueContext) async throws -> TechniqueResult {
        try context.checkCancellation()
        guard let trainer = context.trainer else {
            throw TechniqueError.notApplicable("qat trains on the request's dataset: give params.dataset (a labelled dataset with train and val splits)")
        }
        var details: [String: JSONValue] = ["lsq": .bool(lsq)]
        let quantized: Model
        if Self.isQDQ(model) {
            quantized = model
            details["start"] = "the model's own QDQ scales"
        } else {
            let prepared = try StaticQuantizer.prepare(model)
            let plan = try StaticQuantizer(model: prepared, options: try QuantizeOptions(.object([:]))).plan()
            guard plan.quantized.contains(where: { if case .compute = $0.role { true } else { false } }) else {
                throw TechniqueError.notApplicable("the model has no quantizable layers (Conv, Gemm or MatMul with constant weights): nothing for QAT to train")
            }
            var ptqContext = context
            ptqContext.progress = { f, m in context.progress(0.1 * f, "post-training quantization: \(m)") }
            let ptq = try await QuantizeTechnique(parameters: .object([:])).apply(to: model, in: ptqContext)
            quantized = ptq.model
            details["start"] = "post-training quantization (the quantize default)"
            if let o = ptq.details.objectValue {
                details["ptq"] = .object(o.filter { ["int8Nodes", "quantizedTensors", "calibrationImages", "calibration", "lowestSQNR", "keptFP32"].contains($0.key) })
            }
        }
        let fake = try FakeQuantModel(quantized)
        var recipe = self.recipe
        recipe.freeze = (recipe.freeze ?? []) + frozenScales(fake)
        let trained = try await trainer.train(fake.model, recipe: recipe) { f, m in context.progress(0.1 + 0.85 * f, m) }
        let (exported, stats) = try fake.export(trained.model)
        details["training"] = trained.report
        details["export"] = [
            "weights": .int(Int64(fake.weights.count)), "biases": .int(Int64(fake.biases.count)),
            "weightCodes": .int(Int64(stats.weightCodes)), "changedCodes": .int(Int64(stats.changedCodes)),
            "clampedCodes": .int(Int64(stats.clampedCodes)), "biasesClipped": .int(Int64(stats.biasesClipped)),
        ]
        var result = exported
        if keepBetter, let accuracy = context.accuracy {
            context.progress(0.95, "scoring the PTQ start and the QAT result on \(accuracy.split)")
            let before = try await accuracy.evaluate(quantized, nil), after = try await accuracy.evaluate(exported, nil)
            details["valMiou"] = ["split": .string(accuracy.split), "ptq": .double(before.miou), "qat": .double(after.miou)]
            if before.miou > after.miou {
                result = quantized
                details["kept"] = .string("ptq: QAT scored \(after.miou) on \(accuracy.split), below the start's \(before.miou)")
            } else {
                details["kept"] = "qat"
            }
        }
        context.progress(1, "done")
        return TechniqueResult(model: result, details: .object(details))
    }

    /// Scale initializers that `freezeScales` keeps fixed (exact names; globs match them literally).
    func frozenScales(_ fake: FakeQuantModel) -> [String] {
        guard lsq, freezeScales != "none" else { return [] }
        let weightScales = Set(fake.weights.map { $0.quantize.inputs[1] })
        if freezeScales == "weights" { return weightScales.sorted() }
        var activation = Set<String>()
        for n in fake.model.graph.nodes where (n.opType == "QuantizeLinear" || n.opType == "DequantizeLinear") && n.inputs.count > 1 {
            if !weightScales.contains(n.inputs[1]) { activation.insert(n.inputs[1]) }
        }
        return activation.sorted()
    }

    static func isQDQ(_ model: Model) -> Bool {
        model.graph.nodes.contains { $0.opType == "DequantizeLinear" && ($0.domain.isEmpty || $0.domain == "ai.onnx") }
    }
}
