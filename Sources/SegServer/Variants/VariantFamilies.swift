import SegProtocol

import Foundation
import SegProtocol

/// Variant families (a source model and its compressed variants), the times their members
/// take, and the turn order of the segment requests sent to each: what "auto" needs to know.
package actor VariantFamilies {
    private var families: [String: [ModelVariantsRequest.Member]] = [:]
    /// Learned expected time per member id (ms per image of served requests' own work).
    private var expected: [String: Double] = [:]
    /// Families a request is being served from, and the requests waiting their turn, in order.
    private var serving: Set<String> = []
    private var queues: [String: [(token: UInt64, continuation: CheckedContinuation<Void, any Error>)]] = [:]
    private var nextToken: UInt64 = 0

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

    /// Waits for this request's turn on `family` (arrival order). After it returns the caller
    /// holds the turn and must `leave`; a request cancelled while waiting throws and holds nothing.
    func enter(_ family: String) async throws {
        guard serving.contains(family) else { serving.insert(family); return }
        let token = nextToken
        nextToken += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                queues[family, default: []].append((token, c))
            }
        } onCancel: {
            Task { await self.dropWaiter(family, token) }
        }
    }

    private func dropWaiter(_ family: String, _ token: UInt64) {
        guard let i = queues[family]?.firstIndex(where: { $0.token == token }) else { return }
        queues[family]?.remove(at: i).continuation.resume(throwing: CancellationError())
    }

    /// Hands the turn to the next waiting request.
    func leave(_ family: String) {
        if var q = queues[family], !q.isEmpty {
            let next = q.removeFirst()
            queues[family] = q
            next.continuation.resume()
        } else {
            serving.remove(family)
        }
    }

    /// The member to serve the request holding the turn, which waited `waitedMs` for it.
    func choose(family: String, policy: String, targetMs: Double?, minMiou: Double?, waitedMs: Double) throws(VariantChoice.Failure)
        -> (id: String, expectedMs: Double, behind: Int) {
        let members = families[family] ?? []
        let choice = VariantChoice(members: members.map { .init(id: $0.id, expectedMs: expected[$0.id] ?? $0.latencyMs, miou: $0.miou) })
        let behind = queues[family]?.count ?? 0
        let i = try choice.choose(policy: policy, waitedMs: waitedMs, behind: behind, targetMs: targetMs, minMiou: minMiou)
        return (choice.members[i].id, choice.members[i].expectedMs, behind)
    }

    /// Learns from a served request's own work per image.
    func learn(_ id: String, msPerImage: Double) {
        guard msPerImage.isFinite, msPerImage > 0 else { return }
        expected[id] = 0.7 * (expected[id] ?? msPerImage) + 0.3 * msPerImage
    }

    /// Drops `id` from every family (it was unloaded); a family whose source it was goes.
    func forget(_ id: String) {
        families[id] = nil
        for (k, v) in families { families[k] = v.filter { $0.id != id } }
    }
}
