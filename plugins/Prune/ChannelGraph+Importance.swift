import SegGraph
import SegTensor

/// How a channel's importance is scored (higher: kept first).
enum Criterion: String, Sendable, CaseIterable {
    /// Σ|w| of the channel's filters (Li et al., 2017).
    case l1
    /// ‖w‖₂ of the channel's filters.
    case l2
    /// Distance of a filter to the layer's other filters; filters near the geometric median
    /// are redundant (He et al., 2019).
    case fpgm
    /// |γ| of the BatchNormalization scaling the channel (network slimming, Liu et al., 2017).
    case bnGamma
    /// Seeded random scores: the baseline every other criterion is compared with.
    case random
}

extension ChannelGraph {
    /// Importance of every prunable class. A class's score sums its producers' per-filter
    /// scores, each producer's scores divided by their mean so a 3×3 depthwise row and a
    /// 1×1 pointwise row weigh alike. `fallbacks`: groups without a BatchNormalization that
    /// `bnGamma` scored by L1 instead.
    func importance(_ criterion: Criterion, seed: UInt64) throws -> (scores: [Int: Double], fallbacks: [String]) {
        var scores: [Int: Double] = [:]
        if criterion == .random {
            var rng = SeededGenerator(seed: seed)
            for group in groups { for r in group.classes { scores[r] = Double(rng.next() >> 11) / Double(1 << 53) } }
            return (scores, [])
        }
        func add(_ perChannel: [Double], value: String, into s: inout [Int: Double]) {
            let mean = perChannel.reduce(0, +) / Double(max(perChannel.count, 1))
            for (c, v) in perChannel.enumerated() {
                guard let r = root(value, c) else { continue }
                s[r, default: 0] += mean > 0 ? v / mean : v
            }
        }
        var weightScores: [Int: Double] = [:]
        for p in producers {
            guard let rows = try filters(p) else { continue }
            let perChannel: [Double]
            switch criterion == .bnGamma ? .l1 : criterion {
            case .l2: perChannel = rows.map { $0.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
            case .fpgm: perChannel = Self.geometricMedianDistances(rows)
            default: perChannel = rows.map { $0.reduce(0) { $0 + Double(abs($1)) } }
            }
            add(perChannel, value: p.output, into: &weightScores)
        }
        guard criterion == .bnGamma else { return (weightScores, []) }
        for node in model.graph.nodes where node.opType == "BatchNormalization" && node.inputs.count >= 2 {
            guard let x = node.inputs.first, channels[x] != nil, let gamma = constant(node.inputs[1]),
                  let g = try? gamma.converted(to: .f32).scalars(as: Float.self), g.count == channels[x] else { continue }
            add(g.map { Double(abs($0)) }, value: x, into: &scores)
        }
        var fallbacks: [String] = []
        for group in groups where !group.classes.contains(where: { scores[$0] != nil }) {
            fallbacks.append(group.name)
            for r in group.classes { scores[r] = weightScores[r] }
        }
        return (scores, fallbacks)
    }

    /// Each output channel's filter as a flat row (Conv: W[o]; ConvTranspose: W[:, o]).
    func filters(_ p: Producer) throws -> [[Float]]? {
        guard let w = constant(p.weight), w.dtype == .f32 || w.dtype == .f16 || w.dtype == .f64 else { return nil }
        let v = try w.converted(to: .f32).scalars(as: Float.self)
        let d = w.dims
        guard d.count >= 2 else { return nil }
        let inner = d.dropFirst(2).reduce(1, *)
        if p.axis == 0 {
            let per = d.dropFirst().reduce(1, *)
            return (0..<d[0]).map { Array(v[($0 * per)..<(($0 + 1) * per)]) }
        }
        var rows = [[Float]](repeating: [], count: d[1])
        for o in 0..<d[1] {
            for i in 0..<d[0] {
                let start = (i * d[1] + o) * inner
                rows[o] += v[start..<(start + inner)]
            }
        }
        return rows
    }

    /// Σⱼ ‖wᵢ − wⱼ‖₂ for every row i: small for filters near the geometric median.
    static func geometricMedianDistances(_ rows: [[Float]]) -> [Double] {
        var d = [Double](repeating: 0, count: rows.count)
        for i in rows.indices {
            for j in (i + 1)..<rows.count {
                var s: Float = 0
                for k in rows[i].indices { let t = rows[i][k] - rows[j][k]; s += t * t }
                let dist = Double(s.squareRoot())
                d[i] += dist
                d[j] += dist
            }
        }
        return d
    }

    // MARK: - Plans

    /// Channels to remove from a group of `n` at `ratio`: rounded down to a multiple of
    /// `roundTo` (never more than asked), and at least one channel (or `roundTo`) survives.
    static func pruneCount(_ n: Int, ratio: Double, roundTo: Int) -> Int {
        guard n > 1, ratio > 0 else { return 0 }
        var k = Int((Double(n) * min(ratio, 1) + 1e-9).rounded(.down))
        if roundTo > 1 { k -= k % roundTo }
        return max(0, min(k, n - min(max(roundTo, 1), n - 1)))
    }

    /// The classes to prune: in each group with a ratio, the lowest-scoring ones.
    func plan(ratios: [String: Double], scores: [Int: Double], roundTo: Int) -> Set<Int> {
        var pruned = Set<Int>()
        for group in groups {
            guard let ratio = ratios[group.name] else { continue }
            let k = Self.pruneCount(group.classes.count, ratio: ratio, roundTo: roundTo)
            let ranked = group.classes.sorted { (scores[$0] ?? 0, $0) < (scores[$1] ?? 0, $1) }
            pruned.formUnion(ranked.prefix(k))
        }
        return pruned
    }

    /// Kept channel indices of every value that loses channels under `pruned`.
    func kept(_ pruned: Set<Int>) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        guard !pruned.isEmpty else { return out }
        for (value, c) in channels {
            let keep = (0..<c).filter { ch in root(value, ch).map { !pruned.contains($0) } ?? true }
            if keep.count < c { out[value] = keep }
        }
        return out
    }

    /// The group a node name refers to: a group's name, or any producer node inside one.
    func group(named name: String) -> ChannelGroup? {
        groups.first { $0.name == name } ?? groups.first { $0.producerNodes.contains(name) }
    }
}
