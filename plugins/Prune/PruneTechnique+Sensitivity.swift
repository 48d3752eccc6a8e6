import Foundation
import SegGraph
import SegProtocol
import SegTechnique

extension PruneTechnique {
    /// Each prunable group alone at ratios 0.1 … 0.7, scored on the first `limit` images of
    /// the labelled split (PaddleSlim's sensitivity). Ratios that remove the same number of
    /// channels (after `roundTo`) are measured once.
    package func sensitivity(of model: Model, in context: TechniqueContext, limit: Int?) async throws -> SensitivityReport {
        let graph = try analyse(model)
        if criterion == .bnGamma && !graph.model.graph.nodes.contains(where: { $0.opType == "BatchNormalization" }) {
            throw TechniqueError.notApplicable("criterion 'bnGamma' needs BatchNormalization nodes, but the model has none (BatchNorm was folded at export)")
        }
        let (scores, _) = try graph.importance(criterion, seed: seed)
        return try await measure(graph, scores: scores, macs: try MacCounter(graph), model: model, context: context, limit: limit ?? sensitivityLimit)
    }

    func measure(_ graph: ChannelGraph, scores: [Int: Double], macs: MacCounter, model: Model,
                 context: TechniqueContext, limit: Int, progress: ClosedRange<Double> = 0...1) async throws -> SensitivityReport {
        guard let accuracy = context.accuracy else {
            throw TechniqueError.notApplicable("pruning sensitivity needs a labelled split: give params.dataset")
        }
        let baseline = try await accuracy.evaluate(model, limit)
        var jobs: [(group: ChannelGroup, ratio: Double, removed: Int)] = []
        for group in graph.groups {
            for r in Self.sensitivityRatios {
                let k = ChannelGraph.pruneCount(group.classes.count, ratio: r, roundTo: roundTo)
                if k > 0 { jobs.append((group, r, k)) }
            }
        }
        var entries: [SensitivityReport.Entry] = []
        var cache: [String: AccuracyScore] = [:]
        for (i, job) in jobs.enumerated() {
            try context.checkCancellation()
            let span = progress.upperBound - progress.lowerBound
            context.progress(progress.lowerBound + span * Double(i) / Double(max(jobs.count, 1)),
                             "sensitivity \(job.group.name) at \(job.ratio)")
            let pruned = graph.plan(ratios: [job.group.name: job.ratio], scores: scores, roundTo: roundTo)
            let kept = graph.kept(pruned)
            let key = "\(job.group.name)#\(job.removed)"
            let score: AccuracyScore
            if let s = cache[key] {
                score = s
            } else {
                score = try await accuracy.evaluate(try graph.rewrite(kept: kept), limit)
                cache[key] = score
            }
            let n = job.group.classes.count
            entries.append(.init(layer: job.group.name, opType: "Conv", setting: String(job.ratio), score: score, details: [
                "channels": .int(Int64(n)), "kept": .int(Int64(n - job.removed)),
                "macsSaved": .double(Double(macs.total - macs.macs(kept)) / Double(max(macs.total, 1))),
            ]))
        }
        return SensitivityReport(baseline: baseline, entries: entries, split: accuracy.split)
    }

    /// Ratios that keep `target` of the MACs. With a labelled split: PaddleSlim's
    /// loss-threshold rule on the sensitivity curves (every layer gets the largest ratio whose
    /// measured mIoU drop stays under one threshold, interpolated between measured ratios;
    /// the threshold is the smallest that meets the budget). Without one: one uniform ratio.
    func chooseRatios(target: Double, graph: ChannelGraph, scores: [Int: Double], macs: MacCounter, model: Model,
                      context: TechniqueContext) async throws -> (ratios: [String: Double], details: [String: JSONValue]) {
        guard macs.total > 0 else { throw TechniqueError.notApplicable("targetMacs needs static input shapes to count MACs; fix the input dims first (fuse inputShapes)") }
        let budget = target * Double(macs.total)
        func fraction(_ ratios: [String: Double]) -> Double {
            Double(macs.macs(graph.kept(graph.plan(ratios: ratios, scores: scores, roundTo: roundTo)))) / Double(macs.total)
        }
        func search(_ ratiosAt: (Double) -> [String: Double], upper: Double) throws -> (Double, [String: Double]) {
            let most = ratiosAt(upper)
            guard fraction(most) * Double(macs.total) <= budget else {
                throw TechniqueError.notApplicable("targetMacs \(target) is out of reach: the largest ratios keep \(String(format: "%.3f", fraction(most))) of the MACs (some channels cannot be pruned)")
            }
            var lo = 0.0, hi = upper
            for _ in 0..<40 {
                let mid = (lo + hi) / 2
                if fraction(ratiosAt(mid)) * Double(macs.total) <= budget { hi = mid } else { lo = mid }
            }
            return (hi, ratiosAt(hi))
        }
        guard context.accuracy != nil else {
            let (r, ratios) = try search({ r in Dictionary(uniqueKeysWithValues: graph.groups.map { ($0.name, r) }) }, upper: 0.9)
            return (ratios, ["mode": "uniform (no labelled split given)", "ratio": .double(r), "macsKept": .double(fraction(ratios))])
        }
        let report = try await measure(graph, scores: scores, macs: macs, model: model, context: context, limit: sensitivityLimit, progress: 0...0.75)
        var curves: [String: [(ratio: Double, drop: Double)]] = [:]
        for e in report.entries {
            guard let r = Double(e.setting) else { continue }
            curves[e.layer, default: [(0, 0)]].append((r, report.baseline.miou - e.score.miou))
        }
        for (name, points) in curves {
            var sorted = points.sorted { $0.ratio < $1.ratio }
            // Noise can make a larger ratio look better; the curve is made monotone.
            for i in sorted.indices.dropFirst() { sorted[i].drop = max(sorted[i].drop, sorted[i - 1].drop) }
            curves[name] = sorted
        }
        func ratiosAt(_ threshold: Double) -> [String: Double] {
            curves.mapValues { Self.ratio(on: $0, atDrop: threshold) }
        }
        let maxDrop = curves.values.compactMap { $0.last?.drop }.max() ?? 0
        let (t, ratios) = try search(ratiosAt, upper: maxDrop + 1e-9)
        return (ratios, ["mode": "sensitivity", "miouDropThreshold": .double(t), "macsKept": .double(fraction(ratios)),
                         "sensitivity": report.json, "perLayer": .object(ratios.mapValues { .double($0) })])
    }

    /// The largest ratio whose drop is at most `t`, interpolated between measured points.
    static func ratio(on curve: [(ratio: Double, drop: Double)], atDrop t: Double) -> Double {
        guard var best = curve.first?.ratio else { return 0 }
        for (i, p) in curve.enumerated() {
            if p.drop <= t { best = p.ratio; continue }
            let prev = curve[max(i - 1, 0)]
            if p.drop > prev.drop { best = prev.ratio + (p.ratio - prev.ratio) * (t - prev.drop) / (p.drop - prev.drop) }
            break
        }
        return best
    }
}
