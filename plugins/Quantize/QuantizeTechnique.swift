import Foundation
import SegGraph
import SegProtocol
import SegReference
import SegTechnique
import SegTensor

/// INT8 / FP16 quantization. `static` (the default) calibrates activation ranges on sample
/// images and writes a QDQ ONNX model that the runtime executes on INT8 kernels and ONNX
/// Runtime runs as is; `maxMiouDrop` keeps the most sensitive layers in FP32 until the
/// accuracy cost is within budget. Every run reports per-layer parameters, SQNR and the
/// layers left in FP32 with the reason.
package struct QuantizeTechnique: Technique, SensitivityAnalyzing {
    package static let descriptor = TechniqueDescriptor(
        id: "quantize",
        summary: "INT8 (static, dynamic, weight-only) or FP16 quantization, written as standard QDQ ONNX, with per-layer diagnosis and an accuracy budget",
        parameters: [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": [
                "mode": ["enum": ["static", "dynamic", "weightOnly", "fp16"], "default": "static",
                         "description": "static: INT8 activations and weights (needs calibration images); dynamic: INT8 weights, activations quantized per run; weightOnly: INT8 weights, FP32 compute; fp16: FP16 weights, FP32 compute."],
                "calibration": ["enum": ["minmax", "percentile", "entropy", "mse"], "default": "mse",
                                "description": "How activation ranges are chosen from the calibration images."],
                "percentile": ["type": "number", "minimum": 50, "maximum": 100, "default": 99.999],
                "perChannel": ["type": "boolean", "default": true, "description": "One weight scale per output channel (opset ≥ 13)."],
                "biasCorrection": ["type": "boolean", "default": false, "description": "Fold the expected shift from weight rounding into the bias."],
                "calibrationCount": ["type": "integer", "minimum": 1, "maximum": 100000, "description": "Use at most this many of the calibration images."],
                "bins": ["type": "integer", "minimum": 128, "maximum": 65536, "default": 2048],
                "excludeNodes": ["type": "array", "items": ["type": "string"], "description": "Node names kept FP32."],
                "excludeOpTypes": ["type": "array", "items": ["type": "string"], "description": "Op types kept FP32."],
                "maxMiouDrop": ["type": "number", "minimum": 0, "maximum": 1,
                                "description": "Mixed precision: keep the most sensitive layers FP32 until the mIoU drop (a fraction: 0.001 = 0.1 pt) on the dataset's split is within budget."],
                "sensitivityLimit": ["type": "integer", "minimum": 1, "maximum": 100000, "default": 20, "description": "Images per per-layer sensitivity measurement."],
                "rankBy": ["enum": ["sqnr", "miou"], "default": "sqnr",
                           "description": "maxMiouDrop: rank layers by model-output SQNR with only that layer quantized (calibration images; stable) or by mIoU on the split (noisy at small drops)."],
                "dryRun": ["type": "boolean", "default": false, "description": "Only report which ops would run INT8, the boundaries, what stays FP32 and why, and the expected size."],
                "sqnrSamples": ["type": "integer", "minimum": 0, "maximum": 1000, "default": 2, "description": "Calibration images on which per-layer SQNR is measured."],
                "narrowWeights": ["type": "boolean", "default": false,
                                  "description": "Dense-layer weights in [-64, 64] so AVX2's u8×s8 pairs cannot saturate and every GEMM runs the fast exact kernel (depthwise keep [-127, 127]); false: full range everywhere."],
                "equalize": ["type": "boolean", "default": true,
                             "description": "Equalize channel ranges across ReLUs before calibrating (the FP32 outputs do not change)."],
                "fuseActivations": ["type": "boolean", "default": true,
                                    "description": "No Q/DQ between a Conv and the HardSwish/HardSigmoid/Sigmoid that alone reads it (one rounding instead of two; ORT runs such convs in float)."],
                "floatHead": ["type": "boolean", "default": true,
                              "description": "Keep the non-compute tail that produces the outputs (classifier Add, final Resize) in FP32: logits stay exact for the argmax."],
                "floatResidualStream": ["type": "boolean", "default": true,
                                        "description": "Keep FP32 the Adds whose sum a LayerNormalization or Softmax reads, also through reshapes: a transformer's residual stream (outlier channels one calibrated per-tensor range cannot hold) and masked attention logits (the mask's large negatives swamp the range); CNNs have none."],
                "rounding": ["enum": ["nearest", "adaround"],
                             "description": "Static INT8 weights (default adaround in static mode without biasCorrection, else nearest): round to nearest, or learn per weight whether to round up or down so each layer's output on calibration images moves least (AdaRound)."],
                "adaroundIterations": ["type": "integer", "minimum": 0, "maximum": 100000, "default": 1000, "description": "AdaRound: Adam steps per layer."],
                "adaroundImages": ["type": "integer", "minimum": 1, "maximum": 100000, "default": 32, "description": "AdaRound: calibration images the layer inputs are sampled from."],
                "adaroundRows": ["type": "integer", "minimum": 16, "maximum": 1000000, "default": 2048, "description": "AdaRound: sampled output positions per layer."],
                "adaroundInputs": ["enum": ["quantized", "float"], "default": "quantized",
                                   "description": "AdaRound: reconstruct from the input as the quantized layers before produce it (quantized) or from the FP32 input (float)."],
                "adaroundSeed": ["type": "integer", "minimum": 0, "maximum": 2147483647, "default": 0, "description": "AdaRound: seed for the sampled positions and batches."],
            ],
        ],
        needs: [.calibrationData],
        examples: [
            .init(summary: "static INT8, the default recipe (100 calibration images from the dataset's train split)", parameters: [:]),
            .init(summary: "static INT8 with entropy (KL) calibration", parameters: ["mode": "static", "calibration": "entropy"]),
            .init(summary: "static INT8 with learned weight rounding (AdaRound)", parameters: ["rounding": "adaround"]),
            .init(summary: "mixed precision within 0.1 mIoU point", parameters: ["maxMiouDrop": 0.001]),
            .init(summary: "pre-flight only", parameters: ["dryRun": true]),
            .init(summary: "FP16 weights (half the file)", parameters: ["mode": "fp16"]),
            .init(summary: "INT8 weights, FP32 compute", parameters: ["mode": "weightOnly"]),
            .init(summary: "keep the classifier head in FP32", parameters: ["excludeOpTypes": ["Resize"], "excludeNodes": ["/classifier/Conv"]]),
        ])

    let options: QuantizeOptions

    package init(parameters: JSONValue) throws(TechniqueError) {
        options = try QuantizeOptions(parameters)
    }

    package func apply(to source: Model, in context: TechniqueContext) async throws -> TechniqueResult {
        try context.checkCancellation()
        let model = try StaticQuantizer.prepare(source)
        guard options.mode != .static, options.dryRun else { return try await convert(model, context) }
        // A pre-flight of the calibration-free modes: the conversion is cheap, so it runs and
        // reports, and the model stays as it was (nothing is written).
        let result = try await convert(model, context)
        return TechniqueResult(model: source, details: result.details, dryRun: true)
    }

    private func convert(_ model: Model, _ context: TechniqueContext) async throws -> TechniqueResult {
        switch options.mode {
        case .fp16:
            let (out, details) = try FloatConverters.fp16(model)
            return TechniqueResult(model: out, details: ["mode": "fp16", "conversion": details,
                                                         "note": "weights stored as FP16 behind Cast; compute stays FP32"])
        case .dynamic:
            let (out, details) = try DynamicQuantizer.apply(model, perChannel: options.perChannel, excludeNodes: options.excludeNodes, excludeOpTypes: options.excludeOpTypes)
            return TechniqueResult(model: out, details: ["mode": "dynamic", "conversion": details])
        case .weightOnly:
            let q = try StaticQuantizer(model: model, options: options)
            let plan = q.plan()
            let written = try QDQWriter(perChannel: q.perChannel, quantizeActivations: false, weightLimit: 127).write(model, plan: plan, params: [:])
            return TechniqueResult(model: written.model, details: [
                "mode": "weightOnly", "perChannel": .bool(q.perChannel),
                "layers": .array(written.layers.map(Self.layerJSON)),
                "note": "INT8 weights dequantized once at load; compute stays FP32",
            ])
        case .static:
            return try await quantizeStatic(model, context)
        }
    }

    func quantizeStatic(_ model: Model, _ context: TechniqueContext) async throws -> TechniqueResult {
        var q = try StaticQuantizer(model: model, options: options)
        let fullPlan = q.plan()
        var details: [String: JSONValue] = [
            "mode": "static", "calibration": .string(options.calibration.rawValue), "perChannel": .bool(q.perChannel),
            "biasCorrection": .bool(options.biasCorrection), "activations": "u8 asymmetric", "weights": .string(options.narrowWeights ? "s8 symmetric, [-64, 64] dense (narrowWeights), [-127, 127] depthwise" : "s8 symmetric [-127, 127]"),
        ]
        if options.perChannel && !q.perChannel { details["perChannelNote"] = .string("opset \(q.opset) < 13 has no per-axis QDQ: per-tensor weight scales used") }
        details["preflight"] = try preflight(q, fullPlan)
        if options.dryRun {
            return TechniqueResult(model: model, details: .object(details), dryRun: true)
        }
        guard let samples = context.samples else {
            throw TechniqueError.notApplicable("mode 'static' needs calibration images: pass params.dataset (its train split is used) or params.calibration.path, or use mode 'weightOnly' / 'fp16'")
        }
        if options.maxMiouDrop != nil && context.accuracy == nil {
            throw TechniqueError.notApplicable("maxMiouDrop needs a labelled split to measure on: pass params.dataset (and params.split)")
        }
        if options.equalize {
            context.progress(0, "equalizing channel ranges on \(samples.origin)")
            let count = Swift.min(options.calibrationCount ?? samples.count, samples.count)
            let (equalized, report) = try await StaticQuantizer.equalize(model, samples: samples, count: count, context: context)
            details["equalization"] = report
            q = try StaticQuantizer(model: equalized, options: options)
        }
        context.progress(0.1, "calibrating on \(samples.origin)")
        try await q.calibrate(samples: samples, context: context, fraction: 0.1...0.4)
        details["calibrationImages"] = .int(Int64(q.calibrationImages))
        details["calibrationSource"] = .string(samples.origin)
        details["rounding"] = .string(options.rounding.rawValue)
        if options.rounding == .adaround {
            let result = try await options.adaround.run(q, samples: samples, context: context, fraction: 0.4...0.9)
            q.weightCodes = result.codes
            details["adaround"] = result.report
        }

        var plan = fullPlan
        var written = try q.build(plan)
        var budgetMisses: [BudgetMiss] = []
        if let budget = options.maxMiouDrop, let accuracy = context.accuracy {
            var mixed = MixedPrecision(quantizer: q, accuracy: accuracy, budget: budget, sensitivityLimit: options.sensitivityLimit)
            if options.rankBy == .sqnr { mixed.samples = samples }
            let search = try await mixed.run(context: context, fraction: options.rounding == .adaround ? 0.9...0.95 : 0.4...0.95)
            plan = search.plan
            written = search.written
            details["mixedPrecision"] = search.json
            if let miss = search.miss { budgetMisses.append(miss) }
        }
        context.progress(0.95, "measuring per-layer SQNR")
        let sqnr = try await q.sqnr(of: written, samples: samples, count: Swift.min(options.sqnrSamples, q.calibrationImages), context: context)
        details["layers"] = .array(layerTable(q, plan, written, sqnr))
        details["keptFP32"] = .array(plan.keptFP32.map { ["node": .string(QuantizationPlan.label($0.node, plan.graph.nodes.firstIndex(of: $0.node) ?? 0)), "opType": .string($0.node.opType), "reason": .string($0.reason)] })
        details["int8Nodes"] = .int(Int64(plan.quantized.count))
        details["quantizedTensors"] = .int(Int64(plan.tensors.count))
        if let worst = sqnr.min(by: { $0.value < $1.value }) { details["lowestSQNR"] = ["tensor": .string(worst.key), "db": .double(worst.value)] }
        context.progress(1, "done")
        return TechniqueResult(model: written.model, details: .object(details), budgetMisses: budgetMisses)
    }

    /// What will run INT8, where values cross, what stays FP32 and why, and the size.
    func preflight(_ q: StaticQuantizer, _ plan: QuantizationPlan) throws -> JSONValue {
        var dummy: [String: QuantParams] = [:]
        for t in plan.calibratedTensors { dummy[t] = QuantParams(scale: 1, zeroPoint: 0) }
        let written = try QDQWriter(perChannel: q.perChannel, weightLimit: q.weightLimit).write(q.model, plan: plan, params: dummy)
        var int8ByOp: [String: Int64] = [:]
        for n in plan.quantized { int8ByOp[n.node.opType, default: 0] += 1 }
        var fp32ByOp: [String: Int64] = [:]
        for n in plan.keptFP32 { fp32ByOp[n.node.opType, default: 0] += 1 }
        return [
            "int8Nodes": .array(plan.quantized.map { n in
                ["node": .string(QuantizationPlan.label(n.node, n.index)), "opType": .string(n.node.opType),
                 "absorbed": n.absorbed.map { .string(plan.graph.nodes[$0].opType) } ?? .null]
            }),
            "int8ByOpType": .object(int8ByOp.mapValues { .int($0) }),
            "fp32ByOpType": .object(fp32ByOp.mapValues { .int($0) }),
            "fp32Nodes": .array(plan.keptFP32.map { k in
                ["node": .string(k.node.name.isEmpty ? k.node.opType : k.node.name), "opType": .string(k.node.opType), "reason": .string(k.reason)]
            }),
            "boundaries": .array(plan.boundaries.map { ["tensor": .string($0.tensor), "kind": .string($0.kind), "at": .string($0.node)] }),
            "weightBytesBefore": .int(Int64(q.model.graph.initializers.byteCount)),
            "weightBytesAfter": .int(Int64(written.model.graph.initializers.byteCount)),
        ]
    }

    func layerTable(_ q: StaticQuantizer, _ plan: QuantizationPlan, _ written: QDQWriter.Written, _ sqnr: [String: Double]) -> [JSONValue] {
        var weightInfo: [String: QDQWriter.LayerRecord] = [:]
        for r in written.layers { weightInfo[r.node] = r }
        func params(_ t: String) -> JSONValue {
            guard let p = q.params[plan.paramSource[t] ?? t] else { return .null }
            return ["tensor": .string(t), "scale": .double(Double(p.scale)), "zeroPoint": .int(Int64(p.zeroPoint)),
                    "observedMin": .double(Double(q.statistics[plan.paramSource[t] ?? t]?.min ?? 0)),
                    "observedMax": .double(Double(q.statistics[plan.paramSource[t] ?? t]?.max ?? 0))]
        }
        return plan.quantized.map { n in
            let label = QuantizationPlan.label(n.node, n.index)
            var o: [String: JSONValue] = [
                "node": .string(label), "opType": .string(n.node.opType),
                "inputs": .array(n.activationInputs.map(params)), "output": params(n.output),
                "sqnrDb": sqnr[n.output].map { .double(($0 * 100).rounded() / 100) } ?? .null,
            ]
            if let a = n.absorbed { o["absorbed"] = .string(plan.graph.nodes[a].opType) }
            if let r = weightInfo[label] { o["weight"] = Self.layerJSON(r) }
            return .object(o)
        }
    }

    static func layerJSON(_ r: QDQWriter.LayerRecord) -> JSONValue {
        var o: [String: JSONValue] = ["node": .string(r.node), "opType": .string(r.opType), "channels": .int(Int64(r.weightChannels))]
        if let (lo, hi) = r.weightScaleRange { o["scaleMin"] = .double(Double(lo)); o["scaleMax"] = .double(Double(hi)) }
        if r.biasCorrected { o["biasCorrected"] = true }
        if r.biasClipped > 0 { o["biasClipped"] = .int(Int64(r.biasClipped)) }
        return .object(o)
    }

    // MARK: sensitivity

    package func sensitivity(of source: Model, in context: TechniqueContext, limit: Int?) async throws -> SensitivityReport {
        guard let samples = context.samples else { throw TechniqueError.notApplicable("sensitivity needs calibration images: pass params.dataset or params.calibration.path") }
        guard let accuracy = context.accuracy else { throw TechniqueError.notApplicable("sensitivity needs a labelled split: pass params.dataset") }
        var q = try StaticQuantizer(model: try StaticQuantizer.prepare(source), options: options)
        try await q.calibrate(samples: samples, context: context, fraction: 0...0.2)
        let entries = try await MixedPrecision.layerSensitivity(q, accuracy: accuracy, limit: limit ?? options.sensitivityLimit, context: context, fraction: 0.2...1)
        return SensitivityReport(baseline: entries.baseline, entries: entries.layers, split: accuracy.split)
    }
}
