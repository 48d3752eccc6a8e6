import SegGraph
import SegProtocol
import SegTechnique

/// Structured channel pruning: whole channels leave every conv, BatchNorm, residual chain,
/// concat branch and squeeze-excite block that shares them, so the result is a smaller
/// standard ONNX model that any runtime runs faster, with no sparse kernels.
///
/// Steps: a channel dependency graph (`ChannelGraph`) → per-channel importance
/// (`criterion`) → per-group ratios (`ratio`, `ratios`, or `targetMacs` chosen from the
/// per-layer sensitivity) → rewrite → optional BatchNorm re-estimation. A fine-tuning step
/// would take the returned model as is (the rewrite keeps BatchNorm nodes and names).
package struct PruneTechnique: Technique, SensitivityAnalyzing {
    package static let descriptor = TechniqueDescriptor(
        id: "prune",
        summary: "Structured channel pruning (L1/L2/FPGM/BN-γ/random) with coupled channels, sensitivity-chosen ratios and BN recalibration",
        parameters: [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": [
                "criterion": ["enum": .array(Criterion.allCases.map { .string($0.rawValue) }), "default": "l1",
                              "description": "Channel importance: filter L1 norm (default: cheap, works on BN-folded models), L2 norm, FPGM (distance to the geometric median), bnGamma (|γ| of BatchNorm; needs BatchNormalization nodes), random (the baseline)."],
                "ratio": ["type": "number", "minimum": 0, "maximum": 0.9, "default": 0.3,
                          "description": "Fraction of channels removed from every prunable group (used when neither ratios nor targetMacs is given)."],
                "ratios": ["type": "object", "minProperties": 1, "additionalProperties": ["type": "number", "minimum": 0, "maximum": 0.9],
                           "description": "Per-layer ratios by node name (a group's first conv, or any conv in it); override ratio, other layers keep ratio (0 when ratio is absent)."],
                "targetMacs": ["type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1,
                               "description": "Fraction of the original MACs to keep (0.7 keeps 70%); per-layer ratios chosen from the sensitivity on the labelled split (uniform without one)."],
                "seed": ["type": "integer", "minimum": 0, "default": 0, "description": "Seed of the random criterion."],
                "recalibrateBN": ["type": "boolean",
                                  "description": "Re-estimate BatchNorm statistics on calibration images after pruning (default: when the model has BatchNormalization nodes and images are given)."],
                "recalibrationImages": ["type": "integer", "minimum": 1, "maximum": 10000, "default": 32,
                                        "description": "Images for BN recalibration (forward only)."],
                "excludeNodes": ["type": "array", "items": ["type": "string"], "description": "Nodes whose output channels are never pruned."],
                "roundTo": ["type": "integer", "minimum": 1, "maximum": 64, "default": 8,
                            "description": "Channels are removed in multiples of this (rounded down, never more than asked), so kept widths stay multiples of 8 for NCHWc8/AVX2 engines."],
                "sensitivityLimit": ["type": "integer", "minimum": 1, "maximum": 100000, "default": 12,
                                     "description": "Images of the labelled split per sensitivity measurement."],
                "latencyRuns": ["type": "integer", "minimum": 0, "maximum": 1000, "default": 5,
                                "description": "Timed runs before and after on the compiled runtime (0: skip the latency measurement)."],
            ],
        ],
        needs: [],
        examples: [
            .init(summary: "remove 30% of the channels of every prunable layer by L1 norm", parameters: ["ratio": 0.3]),
            .init(summary: "keep 70% of the MACs, per-layer ratios from the sensitivity (give a dataset), FPGM",
                  parameters: ["criterion": "fpgm", "targetMacs": 0.7]),
            .init(summary: "network slimming on a BN-kept export, then re-estimate BN statistics on 64 images",
                  parameters: ["criterion": "bnGamma", "ratio": 0.4, "recalibrateBN": true, "recalibrationImages": 64]),
            .init(summary: "the random baseline with a fixed seed", parameters: ["criterion": "random", "ratio": 0.3, "seed": 7]),
            .init(summary: "prune two layers only", parameters: ["ratios": ["/backbone/features.13/block.0/block.0.0/Conv": 0.5, "/classifier/cbr/cbr.0/Conv": 0.25]]),
        ])

    enum Ratios: Sendable, Equatable {
        /// `default` for every group, `overrides` by node name.
        case fixed(default: Double, overrides: [String: Double])
        case targetMacs(Double)
    }

    let criterion: Criterion
    let ratios: Ratios
    let seed: UInt64
    let recalibrateBN: Bool?
    let recalibrationImages: Int
    let excludeNodes: [String]
    let roundTo: Int
    let sensitivityLimit: Int
    let latencyRuns: Int
    /// Ratios measured per layer by `sensitivity` (PaddleSlim's grid).
    static let sensitivityRatios = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]

    package init(parameters: JSONValue) throws(TechniqueError) {
        // Types, ranges and names are the schema's job; what is left is how fields combine.
        try Self.descriptor.validate(parameters)
        let o = parameters.objectValue ?? [:]
        criterion = o["criterion"]?.stringValue.flatMap(Criterion.init(rawValue:)) ?? .l1
        let ratio = o["ratio"]?.doubleValue
        let overrides = (o["ratios"]?.objectValue ?? [:]).compactMapValues(\.doubleValue)
        if let f = o["targetMacs"]?.doubleValue {
            guard ratio == nil, overrides.isEmpty else {
                throw .invalidParameter(name: "targetMacs", reason: "give either targetMacs or ratio/ratios, not both")
            }
            ratios = .targetMacs(f)
        } else {
            ratios = .fixed(default: ratio ?? (overrides.isEmpty ? 0.3 : 0), overrides: overrides)
        }
        seed = UInt64(o["seed"]?.intValue ?? 0)
        recalibrateBN = o["recalibrateBN"]?.boolValue
        recalibrationImages = Int(o["recalibrationImages"]?.intValue ?? 32)
        excludeNodes = o["excludeNodes"]?.arrayValue?.compactMap(\.stringValue) ?? []
        roundTo = Int(o["roundTo"]?.intValue ?? 8)
        sensitivityLimit = Int(o["sensitivityLimit"]?.intValue ?? 12)
        latencyRuns = Int(o["latencyRuns"]?.intValue ?? 5)
    }
}
