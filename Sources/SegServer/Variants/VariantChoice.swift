/// How `model/segment` picks a member of a variant family: by name, or ("auto") the most
/// accurate one that keeps this request and every request queued behind it within the target.
/// Requests to a family are served one at a time in arrival order (each already uses every
/// core), and the choice is made when a request's turn comes: it knows how long it waited and
/// how many wait behind it, and leaves them room at the fastest member's pace. A burst so
/// degrades to lighter variants from its first request instead of queueing past the target.
struct VariantChoice: Sendable {
    struct Candidate: Sendable, Equatable {
        var id: String
        /// Expected wall time of one request alone (measured, then learned from served ones).
        var expectedMs: Double
        var miou: Double?
    }

    /// Members, the source first.
    var members: [Candidate]

    /// Indices from most to least accurate: by mIoU when every member is scored (equal scores
    /// in family order, the source first: a tie is no reason to leave the reference), else the
    /// source first and then the slower (less compressed) ones before the faster.
    var byAccuracy: [Int] {
        let indices = Array(members.indices)
        if members.allSatisfy({ $0.miou != nil }) {
            return indices.sorted { (members[$0].miou!, -$0) > (members[$1].miou!, -$1) }
        }
        return [0] + indices.dropFirst().sorted { members[$0].expectedMs > members[$1].expectedMs }
    }

    var accurate: Int { byAccuracy.first ?? 0 }
    var fastest: Int { members.indices.min { members[$0].expectedMs < members[$1].expectedMs } ?? 0 }

    enum Failure: Error, Equatable { case unknownVariant(String), noneAccurateEnough(Double) }

    /// The member to serve a request under `policy`, when its turn comes after `waitedMs`
    /// with `behind` requests queued after it.
    func choose(policy: String, waitedMs: Double, behind: Int, targetMs: Double?, minMiou: Double?) throws(Failure) -> Int {
        var allowed = Array(members.indices)
        if let minMiou {
            allowed = allowed.filter { (members[$0].miou ?? -1) >= minMiou }
            guard !allowed.isEmpty else { throw .noneAccurateEnough(minMiou) }
        }
        let ranked = byAccuracy.filter(allowed.contains)
        let quickest = allowed.min { members[$0].expectedMs < members[$1].expectedMs } ?? 0
        switch policy {
        case "accurate": return ranked.first ?? 0
        case "fastest": return quickest
        case "auto":
            let target = targetMs ?? 2 * members[accurate].expectedMs
            let reserve = Double(behind) * members[quickest].expectedMs
            return ranked.first { waitedMs + members[$0].expectedMs + reserve <= target } ?? quickest
        default:
            guard let i = members.firstIndex(where: { $0.id == policy }) else { throw .unknownVariant(policy) }
            return i
        }
    }
}
