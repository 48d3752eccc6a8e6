import SegGraph
import SegTensor

/// MatMul(Q, K) → [× or ÷ a scalar] → Softmax(last axis) → MatMul(·, V) into one
/// `ai.segslim::Attention` (inputs Q, K, V; attribute `scale`), which the runtime runs on one
/// step that never writes the scores out. Targets: `MatMul` nodes of the default domain.
///
/// Conditions: each intermediate is read by the next node alone and is not a graph output;
/// the scale is a non-zero f32 scalar constant (and the divisor, for Div); Softmax is over the
/// last axis; V is ready before the first MatMul runs; the second MatMul keeps the scores'
/// batch axes (no broadcast of the scores). These need shapes, so without `facts` nothing is
/// fused; with them, also: Q, K, V and every intermediate live in the float arena, and no
/// other plan claims the nodes.
package struct FuseAttention: GraphRewrite {
    package let name = "fuseAttention"
    package static let targetOpTypes: Set<String> = ["MatMul"]
    package var facts: FusionFacts?

    package init(facts: FusionFacts? = nil) { self.facts = facts }

    package func apply(to model: inout Model) throws -> Int {
        let graph = model.graph
        guard graph.nodes.contains(where: { Self.targetOpTypes.contains($0.opType) && $0.domain.isEmpty }) else { return 0 }
        let index = try FusionGraphIndex(graph, facts: facts)
        let softmaxDefaultAxis = (model.opsetVersion(for: "") ?? 13) >= 13 ? -1 : 1
        func constant(_ v: String) -> Tensor? { index.constant(v) }
        func isPlanned(_ v: String) -> Bool { index.isPlanned(v) }
        func dims(_ v: String) -> [Int]? { index.dims(v) }
        func soleReader(_ value: String) -> Int? { index.soleSimpleReader(value) }
        func scalar(_ v: String) -> Float? {
            guard let t = constant(v), t.dtype == .f32, t.elementCount == 1, let s = try? t.scalars(as: Float.self).first else { return nil }
            return s
        }
        /// Rank ≥ 2 where shapes are known.
        func matrix(_ v: String) -> Bool { dims(v).map { $0.count >= 2 } ?? true }

        var used = Set<Int>()
        var fused: [(first: Int, removed: [Int], node: Node)] = []
        for i in index.order {
            let mm = graph.nodes[i]
            guard mm.opType == "MatMul", mm.domain.isEmpty, !used.contains(i), mm.inputs.count == 2, mm.outputs.count == 1, index.isFree(mm) else { continue }
            let (q, k, scores) = (mm.inputs[0], mm.inputs[1], mm.outputs[0])
            guard isPlanned(q), isPlanned(k), isPlanned(scores), matrix(q), matrix(k), let at = index.position[scores],
                  dims(q)?.last.map({ $0 >= 1 }) ?? true, dims(k)?.last.map({ $0 >= 1 }) ?? true,
                  var j = soleReader(scores) else { continue }
            var scale: Float = 1, value = scores, removed: [Int] = []
            let od = dims(scores)
            if ["Mul", "Div"].contains(graph.nodes[j].opType) {
                let n = graph.nodes[j]
                guard n.inputs.count == 2, dims(n.outputs[0]) == od else { continue }
                let other = n.inputs[0] == scores ? n.inputs[1] : n.inputs[0]
                guard n.opType == "Mul" || n.inputs[0] == scores, let s = scalar(other), s != 0 else { continue }
                scale = n.opType == "Mul" ? s : 1 / s
                removed.append(j)
                value = n.outputs[0]
                guard let next = soleReader(value) else { continue }
                j = next
            }
            let softmax = graph.nodes[j]
            let rank = od?.count
            let axis = softmax[attribute: "axis"]?.intValue ?? softmaxDefaultAxis
            guard softmax.opType == "Softmax", softmax.inputs == [value], dims(softmax.outputs[0]) == od,
                  let rank, (axis < 0 ? axis + rank : axis) == rank - 1 else { continue }
            removed.append(j)
            value = softmax.outputs[0]
            guard let s = soleReader(value) else { continue }
            let second = graph.nodes[s]
            guard second.opType == "MatMul", second.inputs.count == 2, second.inputs[0] == value, second.inputs[1] != value else { continue }
            let v = second.inputs[1], final = second.outputs[0]
            guard isPlanned(v), matrix(v), index.isAvailable(v, before: at),
                  let fd = dims(final), let od, fd.count == od.count, fd.dropLast(2) == od.dropLast(2) else { continue }
            removed.append(s)
            guard !removed.contains(where: used.contains) else { continue }
            used.formUnion([i] + removed)
            fused.append((i, removed, Node(name: mm.name, opType: FusedOps.attention, domain: FusedOps.domain, inputs: [q, k, v],
                                           outputs: [final], attributes: [NamedAttribute("scale", .float(scale))], docString: mm.docString)))
        }
        guard !fused.isEmpty else { return 0 }
        for f in fused { model.graph.nodes[f.first] = f.node }
        let removed = Set(fused.flatMap(\.removed))
        model.graph.nodes = model.graph.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        model.addFusedDomainImport()
        return fused.count
    }
}
