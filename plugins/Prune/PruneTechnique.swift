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
public struct PruneTechnique: Technique, SensitivityAnalyzing {
    public static let descriptor = TechniqueDescriptor(
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
                "ratios": ["type": "object", "additionalProperties": ["type": "number", "minimum": 0, "maximum": 0.9],
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
                "sensitivityLimit": ["type": "integer", "minimum": 1, "default": 12,
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

    public init(parameters: JSONValue) throws(TechniqueError) {
        guard case .object(let o) = parameters else { throw .invalidParameter(name: "(parameters)", reason: "expected an object") }
        let known: Set<String> = ["criterion", "ratio", "ratios", "targetMacs", "seed", "recalibrateBN", "recalibrationImages",
                                  "excludeNodes", "roundTo", "sensitivityLimit", "latencyRuns"]
        if let bad = o.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidParameter(name: bad, reason: "unknown parameter (known: \(known.sorted().joined(separator: ", ")))")
        }
        func number(_ key: String, _ v: JSONValue, in range: ClosedRange<Double>) throws(TechniqueError) -> Double {
            guard let d = v.doubleValue, range.contains(d) else {
                throw .invalidParameter(name: key, reason: "expected a number in \(range.lowerBound)...\(range.upperBound), got \(v)")
            }
            return d
        }
        func integer(_ key: String, default d: Int, in range: ClosedRange<Int>) throws(TechniqueError) -> Int {
            guard let v = o[key] else { return d }
            guard let i = v.intValue, range.contains(Int(i)) else {
                throw .invalidParameter(name: key, reason: "expected an integer in \(range.lowerBound)...\(range.upperBound), got \(v)")
            }
            return Int(i)
        }
        if let c = o["criterion"] {
            guard let s = c.stringValue, let parsed = Criterion(rawValue: s) else {
                throw .invalidParameter(name: "criterion", reason: "expected one of \(Criterion.allCases.map(\.rawValue).joined(separator: ", ")), got \(c)")
            }
            criterion = parsed
        } else {
            criterion = .l1
        }
        let ratio = try o["ratio"].map { v throws(TechniqueError) in try number("ratio", v, in: 0...0.9) }
        var overrides: [String: Double] = [:]
        if let r = o["ratios"] {
            guard case .object(let m) = r, !m.isEmpty else { throw .invalidParameter(name: "ratios", reason: "expected a non-empty object of node name → ratio") }
            for (name, v) in m { overrides[name] = try number("ratios.\(name)", v, in: 0...0.9) }
        }
        if let t = o["targetMacs"] {
            guard ratio == nil, overrides.isEmpty else {
                throw .invalidParameter(name: "targetMacs", reason: "give either targetMacs or ratio/ratios, not both")
            }
            let f = try number("targetMacs", t, in: 0...1)
            guard f > 0, f < 1 else { throw .invalidParameter(name: "targetMacs", reason: "expected a fraction strictly between 0 and 1, got \(f)") }
            ratios = .targetMacs(f)
        } else {
            ratios = .fixed(default: ratio ?? (overrides.isEmpty ? 0.3 : 0), overrides: overrides)
        }
        seed = UInt64(try integer("seed", default: 0, in: 0...Int.max))
        if let b = o["recalibrateBN"] {
            guard let v = b.boolValue else { throw .invalidParameter(name: "recalibrateBN", reason: "expected true or false, got \(b.typeName)") }
            recalibrateBN = v
        } else {
            recalibrateBN = nil
        }
        recalibrationImages = try integer("recalibrationImages", default: 32, in: 1...10_000)
        if let e = o["excludeNodes"] {
            guard case .array(let a) = e, let names = Optional(a.compactMap(\.stringValue)), names.count == a.count else {
                throw .invalidParameter(name: "excludeNodes", reason: "expected an array of node names")
            }
            excludeNodes = names
        } else {
            excludeNodes = []
        }
        roundTo = try integer("roundTo", default: 8, in: 1...64)
        sensitivityLimit = try integer("sensitivityLimit", default: 12, in: 1...100_000)
        latencyRuns = try integer("latencyRuns", default: 5, in: 0...1000)
    }
}
