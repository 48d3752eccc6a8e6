import SegProtocol

/// Variant families (a source model and its compressed variants) and the segment work queued
/// on each: what "auto" needs to know how busy the daemon is.
package actor VariantFamilies {
    private var families: [String: [ModelVariantsRequest.Member]] = [:]
    /// Learned expected wall time per member id (ms per image, served requests).
    private var expected: [String: Double] = [:]
    /// Expected ms of the segment requests in flight, per family.
    private var queued: [String: Double] = [:]

    package init() {}

    func members(of family: String) -> [ModelVariantsRequest.Member]? { families[family] }

    func set(_ family: String, members: [ModelVariantsRequest.Member]) {
        families[family] = members
        for m in members where expected[m.id] == nil { expected[m.id] = m.latencyMs }
    }

    /// The family `id` belongs to (as its source or one of its variants).
    func family(containing id: String) -> String? {
        if families[id] != nil { return id }
        return families.first { $0.value.contains { $0.id == id } }?.key
    }

    /// Chooses a member and books its expected time against the family until `finish`.
    func choose(family: String, policy: String, targetMs: Double?, minMiou: Double?) throws(VariantChoice.Failure)
        -> (id: String, expectedMs: Double, queuedMs: Double) {
        let members = families[family] ?? []
        let choice = VariantChoice(members: members.map { .init(id: $0.id, expectedMs: expected[$0.id] ?? $0.latencyMs, miou: $0.miou) })
        let waiting = queued[family] ?? 0
        let i = try choice.choose(policy: policy, queuedMs: waiting, targetMs: targetMs, minMiou: minMiou)
        let pick = choice.members[i]
        queued[family] = waiting + pick.expectedMs
        return (pick.id, pick.expectedMs, waiting)
    }

    /// Releases a request's booking and learns from its time per image.
    func finish(family: String, id: String, bookedMs: Double, actualMsPerImage: Double?) {
        queued[family] = max(0, (queued[family] ?? 0) - bookedMs)
        if let actual = actualMsPerImage, actual.isFinite, actual > 0 {
            expected[id] = 0.7 * (expected[id] ?? actual) + 0.3 * actual
        }
    }

    /// Drops `id` from every family (it was unloaded); a family whose source it was goes.
    func forget(_ id: String) {
        families[id] = nil
        for (k, v) in families { families[k] = v.filter { $0.id != id } }
    }
}
