import SegGraph
import SegRewrite

/// The fusion rewrites the compiler runs on its private copy of a model, with facts read from
/// the plan builder of the unfused graph, so a rewrite fuses exactly what the kernels then
/// run fused (and leaves alone what the INT8 plan runs).
enum RuntimeFusion {
    /// The rewrites, in order. One round: each is a single greedy pass in topological order,
    /// which is the order the kernel plan used to fuse in; a second round could see a fused
    /// node's output as ready earlier than the nodes it replaced and fuse more than before.
    static func rewrites(_ facts: FusionFacts) -> RewriteManager {
        var manager = RewriteManager([FuseConvActivation(facts: facts), FuseAttention(facts: facts), FuseGelu(facts: facts)])
        manager.maxRounds = 1
        return manager
    }

    /// What the kernels of `probe` (a builder on the unfused graph) can run fused.
    static func facts(_ probe: PlanBuilder, int8Plan: Int8Plan?) throws -> FusionFacts {
        var planned: [String: [Int]] = [:]
        for name in probe.inference.types.keys where probe.isPlanned(name) { planned[name] = probe.dims(name) }
        var convs = Set<String>()
        for node in probe.nodes where node.opType == "Conv" && node.domain.isEmpty {
            if let out = node.outputs.first, try ConvPath.geometry(node, probe) != nil { convs.insert(out) }
        }
        var claimed = Set<String>()
        if let int8Plan {
            let indices = Set(int8Plan.matches.keys).union(int8Plan.matches.values.flatMap(\.consumed)).union(int8Plan.skipped)
            for i in indices { claimed.formUnion(probe.nodes[i].outputs.filter { !$0.isEmpty }) }
        }
        return FusionFacts(planned: planned, convs: convs, claimed: claimed, constants: probe.inference.constants)
    }
}

extension Int8Plan {
    /// This plan (made on `old`) for `new`, the same graph after fusion: the INT8 plan's nodes
    /// are never fused (`FusionFacts.claimed`), so each is found by its first output.
    func reindexed(from old: [Node], to new: [Node]) -> Int8Plan? {
        var index: [String: Int] = [:]
        for (j, n) in new.enumerated() { if let o = n.outputs.first, !o.isEmpty { index[o] = j } }
        func map(_ i: Int) -> Int? { old[i].outputs.first.flatMap { index[$0] } }
        var plan = self
        plan.matches = [:]
        for (i, m) in matches {
            guard let j = map(i) else { return nil }
            let consumed = m.consumed.compactMap(map)
            guard consumed.count == m.consumed.count else { return nil }
            plan.matches[j] = (m.pending, consumed)
        }
        let skipped = skipped.compactMap(map)
        guard skipped.count == self.skipped.count else { return nil }
        plan.skipped = Set(skipped)
        return plan
    }
}
