import Foundation
import SegGraph
import SegProtocol
import SegTechnique
import SegTensor

/// Mixed precision under an accuracy budget: quantize everything; if the mIoU drop exceeds the
/// budget, rank layers by how much accuracy each costs when quantized alone (PaddleSlim's
/// sensitivity), keep the top k in FP32 for k = 1, 2, 4, … and then bisect for the smallest k
/// within budget. When even the last candidate misses, the best model found is returned and
/// the report says so.
struct MixedPrecision {
    let quantizer: StaticQuantizer
    let accuracy: AccuracyProbe
    let budget: Double
    let sensitivityLimit: Int
    /// Samples for the output-SQNR ranking (nil: rank by mIoU per layer instead).
    var samples: SampleSource? = nil

    struct Outcome {
        var plan: QuantizationPlan
        var written: QDQWriter.Written
        var json: JSONValue
        /// Set when even the best model found drops more mIoU than the budget allows.
        var miss: BudgetMiss? = nil
    }

    struct Sensitivity {
        var baseline: AccuracyScore
        var layers: [SensitivityReport.Entry]
    }

    /// Each quantizable layer quantized alone, scored on the first `limit` images.
    static func layerSensitivity(_ q: StaticQuantizer, accuracy: AccuracyProbe, limit: Int, context: TechniqueContext,
                                 fraction: ClosedRange<Double>) async throws -> Sensitivity {
        let full = q.plan()
        let baseline = try await accuracy.evaluate(q.model, limit)
        var entries: [SensitivityReport.Entry] = []
        let span = fraction.upperBound - fraction.lowerBound
        for (k, n) in full.quantized.enumerated() {
            try context.checkCancellation()
            let label = QuantizationPlan.label(n.node, n.index)
            context.progress(fraction.lowerBound + span * Double(k) / Double(full.quantized.count), "sensitivity \(k + 1)/\(full.quantized.count): \(label)")
            let plan = q.plan(only: Set(full.group(label)))
            let written = try q.build(plan)
            let score = try await accuracy.evaluate(written.model, limit)
            entries.append(.init(layer: label, opType: n.node.opType, setting: "int8", score: score,
                                 details: ["miouDrop": .double(baseline.miou - score.miou)]))
        }
        return Sensitivity(baseline: baseline, layers: entries)
    }

    /// SQNR (dB) of the model outputs with only one layer (and its absorbed activation)
    /// quantized, against the FP32 model, over `count` samples.
    static func outputSQNR(_ q: StaticQuantizer, samples: SampleSource, count: Int, context: TechniqueContext,
                           fraction: ClosedRange<Double>) async throws -> [(layer: String, db: Double)] {
        let full = q.plan()
        let outputs = q.model.graph.outputs.map(\.name)
        var reference: [Int: [String: Tensor]] = [:]
        try await Calibrator.run(q.model, observing: [], samples: samples, count: count, context: context) { i, out in
            reference[i] = out
        }
        var result: [(String, Double)] = []
        let span = fraction.upperBound - fraction.lowerBound
        for (k, n) in full.quantized.enumerated() {
            try context.checkCancellation()
            let label = QuantizationPlan.label(n.node, n.index)
            context.progress(fraction.lowerBound + span * Double(k) / Double(full.quantized.count), "ranking \(k + 1)/\(full.quantized.count): \(label)")
            let written = try q.build(q.plan(only: Set(full.group(label))))
            var signal = 0.0, noise = 0.0
            try await Calibrator.run(written.model, observing: [], samples: samples, count: count, context: context) { i, out in
                for name in outputs {
                    guard let a = try reference[i]?[name]?.scalars(as: Float.self), let b = try out[name]?.scalars(as: Float.self), a.count == b.count else { continue }
                    for j in a.indices { let d = Double(a[j] - b[j]); signal += Double(a[j]) * Double(a[j]); noise += d * d }
                }
            }
            result.append((label, noise > 0 ? 10 * log10(signal / noise) : 200))
        }
        return result
    }

    func run(context: TechniqueContext, fraction: ClosedRange<Double>) async throws -> Outcome {
        let span = fraction.upperBound - fraction.lowerBound
        context.progress(fraction.lowerBound, "scoring FP32 and full INT8 on \(accuracy.split)")
        let fp32 = try await accuracy.evaluate(quantizer.model, nil)
        let fullPlan = quantizer.plan()
        let full = try quantizer.build(fullPlan)
        let fullScore = try await accuracy.evaluate(full.model, nil)
        var trials: [JSONValue] = [["keptFP32": 0, "miou": .double(fullScore.miou), "miouDrop": .double(fp32.miou - fullScore.miou)]]
        var base: [String: JSONValue] = [
            "budget": .double(budget), "split": .string(accuracy.split), "images": .int(Int64(fp32.images)),
            "fp32Miou": .double(fp32.miou), "fullInt8Miou": .double(fullScore.miou), "fullInt8Drop": .double(fp32.miou - fullScore.miou),
        ]
        if fp32.miou - fullScore.miou <= budget {
            base["budgetMet"] = true
            base["keptForAccuracy"] = []
            base["finalDrop"] = .double(fp32.miou - fullScore.miou)
            base["trials"] = .array(trials)
            return Outcome(plan: fullPlan, written: full, json: .object(base))
        }
        // Rank layers, most harmful first. Output SQNR with one layer quantized (on a few
        // calibration images) is far less noisy than mIoU differences of a few hundredths of
        // a point on a small split, and needs no labels.
        let ranked: [String]
        var rankingJSON: [JSONValue] = []
        if let samples {
            let scores = try await Self.outputSQNR(quantizer, samples: samples, count: Swift.min(sensitivityLimit, samples.count), context: context,
                                                   fraction: fraction.lowerBound + span * 0.05...fraction.lowerBound + span * 0.7)
            ranked = scores.sorted { ($0.db, $0.layer) < ($1.db, $1.layer) }.map(\.layer)
            rankingJSON = scores.sorted { $0.db < $1.db }.map { ["layer": .string($0.layer), "outputSQNRDb": .double(($0.db * 100).rounded() / 100)] }
            base["ranking"] = "output SQNR with only that layer quantized"
        } else {
            let sens = try await Self.layerSensitivity(quantizer, accuracy: accuracy, limit: sensitivityLimit, context: context,
                                                       fraction: fraction.lowerBound + span * 0.05...fraction.lowerBound + span * 0.7)
            ranked = sens.layers.sorted { $0.score.miou < $1.score.miou }.map(\.layer)
            rankingJSON = sens.layers.map { ["layer": .string($0.layer), "opType": .string($0.opType), "miouDrop": .double(sens.baseline.miou - $0.score.miou)] }
            base["ranking"] = .string("mIoU with only that layer quantized (\(sens.baseline.images) images)")
        }
        var best = (drop: fp32.miou - fullScore.miou, k: 0, plan: fullPlan, written: full)
        func attempt(_ k: Int) async throws -> Double {
            let keep = Dictionary(ranked.prefix(k).flatMap { fullPlan.group($0) }.map { ($0, "kept FP32 for accuracy (maxMiouDrop)") }, uniquingKeysWith: { a, _ in a })
            let plan = quantizer.plan(extraFP32: keep)
            let written = try quantizer.build(plan)
            let score = try await accuracy.evaluate(written.model, nil)
            let drop = fp32.miou - score.miou
            trials.append(["keptFP32": .int(Int64(k)), "miou": .double(score.miou), "miouDrop": .double(drop)])
            if drop <= budget ? (best.drop > budget || k < best.k) : (best.drop > budget && drop < best.drop) {
                best = (drop, k, plan, written)
            }
            return drop
        }
        var k = 1, lastMiss = 0, hit: Int? = nil
        while k <= ranked.count {
            try context.checkCancellation()
            context.progress(fraction.lowerBound + span * 0.75, "keeping the \(k) most sensitive layers FP32")
            if try await attempt(k) <= budget { hit = k; break }
            lastMiss = k
            if k == ranked.count { break }
            k = Swift.min(k * 2, ranked.count)
        }
        if var hi = hit {
            var lo = lastMiss + 1
            while lo < hi {
                try context.checkCancellation()
                let mid = (lo + hi) / 2
                if try await attempt(mid) <= budget { hi = mid } else { lo = mid + 1 }
            }
        }
        base["budgetMet"] = .bool(best.drop <= budget)
        if best.drop > budget { base["note"] = .string("budget not met: returning the best model found (drop \(best.drop)) with \(best.k) layers kept FP32") }
        base["keptForAccuracy"] = .array(ranked.prefix(best.k).map(JSONValue.string))
        base["finalDrop"] = .double(best.drop)
        base["trials"] = .array(trials)
        base["sensitivity"] = .array(rankingJSON)
        let miss = best.drop > budget
            ? BudgetMiss(parameter: "maxMiouDrop", limit: budget, achieved: best.drop,
                         note: "budget not met: returning the best model found with \(best.k) layers kept FP32")
            : nil
        return Outcome(plan: best.plan, written: best.written, json: .object(base), miss: miss)
    }
}
