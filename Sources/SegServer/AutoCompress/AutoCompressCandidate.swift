import SegProtocol

/// One point of the auto-compression search space: a structure (how much is pruned, whether
/// it runs in INT8) and a training budget. Its recipe is a `model/pipeline` step list, so every
/// candidate can be reproduced by a plain request.
struct AutoCompressCandidate: Hashable, Sendable, Comparable {
    /// Fraction of the source's MACs pruning aims at; nil: not pruned.
    var pruneTarget: Double?
    var quantize: Bool
    /// Fine-tune epochs after pruning (0: none).
    var epochs: Int

    /// A stable, readable name: `prune0.50-ft3-int8`.
    var key: String {
        let structure = pruneTarget.map { "prune" + Self.fixed2($0) } ?? "full"
        return "\(structure)-\(epochs > 0 ? "ft\(epochs)" : "noft")-\(quantize ? "int8" : "fp32")"
    }

    /// The same structure without training: what its latency and size are measured on.
    var structure: AutoCompressCandidate { AutoCompressCandidate(pruneTarget: pruneTarget, quantize: quantize, epochs: 0) }

    static func < (a: Self, b: Self) -> Bool { a.key < b.key }

    static func fixed2(_ x: Double) -> String {
        let hundredths = Int((x * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }

    /// What every recipe step is given besides the candidate's own numbers.
    struct RecipeSettings: Sendable {
        /// The source's resident id: the teacher when distilling.
        var sourceID: String
        var searchSplit: String
        var distill: Bool
        /// Extra finetune parameters (lr, crop, ...), over the defaults below.
        var finetune: [String: JSONValue]
        /// The recipe that fine-tuned the pruned demo model back to the source's accuracy
        /// (benchmarks/results/learning-2026-12-05.md).
        static let finetuneDefaults: [String: JSONValue] = ["lr": 5e-4, "crop": [240, 320], "scale": [0.75, 1.5]]
    }

    /// The steps that make this candidate. A `probe` builds only what latency and size depend
    /// on: INT8 calibrated on a few images and rounded to nearest (the layout the full recipe
    /// writes is the same; only the values differ).
    func steps(_ settings: RecipeSettings, probe: Bool = false) -> [TechniqueStep] {
        var steps: [TechniqueStep] = []
        if let pruneTarget { steps.append(TechniqueStep(technique: "prune", params: ["targetMacs": .double(pruneTarget)])) }
        if epochs > 0 && !probe {
            var params = RecipeSettings.finetuneDefaults.merging(settings.finetune) { _, given in given }
            params["epochs"] = .int(Int64(epochs))
            params["evalSplit"] = .string(settings.searchSplit)
            if settings.distill { params["teacher"] = .string(settings.sourceID) }
            steps.append(TechniqueStep(technique: "finetune", params: .object(params)))
        }
        steps.append(TechniqueStep(technique: "fuse", params: [:]))
        if quantize {
            steps.append(TechniqueStep(technique: "quantize", params: probe ? ["calibrationCount": 4, "rounding": "nearest"] : [:]))
        }
        return steps
    }
}
