import SegGraph
import SegTensor

/// Exported GELU, Div(x, c) → Erf → Add 1 → Mul x → Mul 0.5, into one `ai.segslim::Gelu`
/// (input x; attribute `scale` = 1/c, so y = 0.5·x·(1 + erf(scale·x))), which the runtime runs
/// as one pointwise step. Targets: `Div` nodes of the default domain.
///
/// Conditions: each intermediate is read by the next node alone and is not a graph output;
/// c is an f32 constant whose values are all one non-zero number and which does not widen x;
/// the constants are exactly 1 and 0.5; the Mul reads the same x. Other Erf chains (other
/// constants, a Mul in front) are left to the runtime's generic pointwise fusion.
package struct FuseGelu: GraphRewrite {
    package let name = "fuseGelu"
    package static let targetOpTypes: Set<String> = ["Div"]
    package var facts: FusionFacts?

    package init(facts: FusionFacts? = nil) { self.facts = facts }

    package func apply(to model: inout Model) throws -> Int {
        let graph = model.graph
        guard graph.nodes.contains(where: { $0.opType == "Erf" }) else { return 0 }
        let index = try FusionGraphIndex(graph, facts: facts)
        func isPlanned(_ v: String) -> Bool { index.isPlanned(v) }
        func dims(_ v: String) -> [Int]? { index.dims(v) }
        func constant(_ v: String) -> Tensor? { index.constant(v) }
        func values(_ v: String) -> [Float]? {
            guard let t = constant(v), t.dtype == .f32 else { return nil }
            return try? t.scalars(as: Float.self)
        }
        /// The one default-domain, single-output node of `opType` reading `value`, output planned
        /// and shaped like `value`.
        func next(_ value: String, _ opType: String) -> Int? {
            guard let r = index.soleSimpleReader(value), graph.nodes[r].opType == opType,
                  dims(graph.nodes[r].outputs[0]) == dims(value) else { return nil }
            return r
        }
        /// The operand of binary node `n` other than `value`, when `value` is one of its two inputs.
        func other(_ n: Node, _ value: String) -> String? {
            guard n.inputs.count == 2, n.inputs.contains(value) else { return nil }
            let o = n.inputs[0] == value ? n.inputs[1] : n.inputs[0]
            return o == value ? nil : o
        }

        var fused: [(div: Int, removed: [Int], node: Node)] = []
        var used = Set<Int>()
        for (i, div) in graph.nodes.enumerated() where div.opType == "Div" && div.domain.isEmpty && !used.contains(i) {
            guard div.inputs.count == 2, div.outputs.count == 1, !(facts?.claimed.contains(div.outputs[0]) ?? false) else { continue }
            let (x, c, t) = (div.inputs[0], div.inputs[1], div.outputs[0])
            guard isPlanned(x), isPlanned(t), dims(x) == dims(t), let cs = values(c), let s = cs.first, s != 0, cs.allSatisfy({ $0 == s }),
                  let cd = constant(c)?.dims, Self.broadcastsInto(cd, dims(x)) else { continue }
            guard let e = next(t, "Erf"), graph.nodes[e].inputs.count == 1,
                  let a = next(graph.nodes[e].outputs[0], "Add"), let one = other(graph.nodes[a], graph.nodes[e].outputs[0]),
                  values(one) == [1],
                  let m = next(graph.nodes[a].outputs[0], "Mul"), other(graph.nodes[m], graph.nodes[a].outputs[0]) == x,
                  let h = next(graph.nodes[m].outputs[0], "Mul"), let half = other(graph.nodes[h], graph.nodes[m].outputs[0]),
                  values(half) == [0.5] else { continue }
            let removed = [e, a, m, h]
            guard !removed.contains(where: used.contains) else { continue }
            used.formUnion([i] + removed)
            fused.append((i, removed, Node(name: div.name, opType: FusedOps.gelu, domain: FusedOps.domain, inputs: [x],
                                           outputs: graph.nodes[h].outputs, attributes: [NamedAttribute("scale", .float(1 / s))],
                                           docString: div.docString)))
        }
        guard !fused.isEmpty else { return 0 }
        for f in fused { model.graph.nodes[f.div] = f.node }
        let removed = Set(fused.flatMap(\.removed))
        model.graph.nodes = model.graph.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        model.addFusedDomainImport()
        return fused.count
    }

    /// Whether a constant shaped `c` broadcasts against `x` without widening it (unknown `x`: rank only).
    static func broadcastsInto(_ c: [Int], _ x: [Int]?) -> Bool {
        guard let x else { return true }
        guard c.count <= x.count else { return false }
        return zip(c.reversed(), x.reversed()).allSatisfy { $0 == 1 || $0 == $1 }
    }
}
