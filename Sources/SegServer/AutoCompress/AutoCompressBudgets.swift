/// The budgets a search must meet, and how far a trial is from meeting them.
struct AutoCompressBudgets: Sendable {
    var maxLatencyRatio: Double?
    var maxLatencyMs: Double?
    var maxMiouDrop: Double
    var maxSizeRatio: Double?

    func latencyMet(_ t: AutoCompressTrial) -> Bool {
        if let r = maxLatencyRatio { return t.latencyRatio <= r }
        if let ms = maxLatencyMs { return t.expectedLatencyMs <= ms }
        return true
    }

    func sizeMet(_ t: AutoCompressTrial) -> Bool { maxSizeRatio.map { t.sizeRatio <= $0 } ?? true }

    /// Latency and size: what training cannot change, so a structure missing them is dropped.
    func structureMet(_ t: AutoCompressTrial) -> Bool { latencyMet(t) && sizeMet(t) }

    func accuracyMet(_ t: AutoCompressTrial, sourceMiou: Double) -> Bool {
        guard let m = t.searchMiou else { return false }
        return sourceMiou - m <= maxMiouDrop + 1e-12
    }

    func met(_ t: AutoCompressTrial, sourceMiou: Double) -> Bool { structureMet(t) && accuracyMet(t, sourceMiou: sourceMiou) }

    /// How far a scored trial is from every budget, each miss relative to its budget (0: all
    /// met): what "the closest found" means when nothing meets them.
    func violation(_ t: AutoCompressTrial, sourceMiou: Double) -> Double {
        var v = 0.0
        if let r = maxLatencyRatio { v += max(0, t.latencyRatio / r - 1) }
        if let ms = maxLatencyMs { v += max(0, t.expectedLatencyMs / ms - 1) }
        if let s = maxSizeRatio { v += max(0, t.sizeRatio / s - 1) }
        let drop = sourceMiou - (t.searchMiou ?? 0)
        v += max(0, drop - maxMiouDrop) / max(maxMiouDrop, 0.01)
        return v
    }

    /// The trial to hand back: the most accurate one meeting every budget (the faster on a
    /// tie), else the one closest to meeting them.
    func choose(_ trials: [AutoCompressTrial], sourceMiou: Double) -> (trial: AutoCompressTrial, meetsBudgets: Bool)? {
        let scored = trials.filter { !$0.probe && $0.searchMiou != nil }
        let meeting = scored.filter { met($0, sourceMiou: sourceMiou) }
        if let best = meeting.max(by: { ($0.searchMiou!, -$0.latencyRatio) < ($1.searchMiou!, -$1.latencyRatio) }) {
            return (best, true)
        }
        let closest = scored.min { a, b in
            let va = violation(a, sourceMiou: sourceMiou), vb = violation(b, sourceMiou: sourceMiou)
            return va != vb ? va < vb : a.searchMiou! > b.searchMiou!
        }
        return closest.map { ($0, false) }
    }

    /// Trials no other beats on latency, mIoU and size at once.
    static func paretoFront(_ trials: [AutoCompressTrial]) -> [AutoCompressTrial] {
        let scored = trials.filter { !$0.probe && $0.searchMiou != nil }
        return scored.filter { t in
            !scored.contains { o in
                o.latencyRatio <= t.latencyRatio && o.searchMiou! >= t.searchMiou! && o.sizeRatio <= t.sizeRatio
                    && (o.latencyRatio < t.latencyRatio || o.searchMiou! > t.searchMiou! || o.sizeRatio < t.sizeRatio)
            }
        }.sorted { $0.latencyRatio < $1.latencyRatio }
    }
}
