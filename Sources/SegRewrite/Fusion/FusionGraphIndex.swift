import SegGraph
import SegTensor

/// The questions every fusion pass asks of a graph and its target's `FusionFacts`, answered from
/// one index: who reads a value, where a value is produced in execution order, whether it is
/// known at compile time, kept in the float arena (and its dims), or claimed by another plan.
struct FusionGraphIndex {
    let graph: Graph
    let facts: FusionFacts?
    /// Readers of each value (node indices).
    let readers: [String: [Int]]
    /// Node indices in execution (topological) order.
    let order: [Int]
    /// Position in `order` of the node producing each value.
    let position: [String: Int]
    let runtimeInputs: Set<String>

    init(_ graph: Graph, facts: FusionFacts?) throws {
        self.graph = graph
        self.facts = facts
        order = try graph.topologicalOrder()
        var position: [String: Int] = [:]
        for (p, i) in order.enumerated() {
            for o in graph.nodes[i].outputs where !o.isEmpty { position[o] = p }
        }
        var readers: [String: [Int]] = [:]
        for (i, n) in graph.nodes.enumerated() { for x in n.inputs where !x.isEmpty { readers[x, default: []].append(i) } }
        self.position = position
        self.readers = readers
        self.runtimeInputs = Set(graph.runtimeInputs.map(\.name))
    }

    /// The value's tensor when known at compile time (an initializer or a folded constant).
    func constant(_ v: String) -> Tensor? { graph.initializers[v] ?? facts?.constants[v] }

    /// Kept in the target's float arena (without facts: anything not constant).
    func isPlanned(_ v: String) -> Bool { facts.map { $0.planned[v] != nil } ?? (constant(v) == nil) }

    /// Static dims of a planned value, when the facts know them.
    func dims(_ v: String) -> [Int]? { facts?.planned[v] }

    /// No output of `n` belongs to another plan (the INT8 path).
    func isFree(_ n: Node) -> Bool { n.outputs.allSatisfy { !(facts?.claimed.contains($0) ?? false) } }

    /// The one node reading `value`, when it is read once and is not a graph output.
    func soleReader(_ value: String) -> Int? {
        guard let rs = readers[value], rs.count == 1, !graph.isGraphOutput(value) else { return nil }
        return rs[0]
    }

    /// `soleReader`, when that node is default-domain with one planned output and free.
    func soleSimpleReader(_ value: String) -> Int? {
        guard let r = soleReader(value) else { return nil }
        let n = graph.nodes[r]
        guard n.domain.isEmpty, n.outputs.count == 1, isPlanned(n.outputs[0]), isFree(n) else { return nil }
        return r
    }

    /// `value` is available before the node at `position` runs (a runtime input or produced earlier).
    func isAvailable(_ value: String, before position: Int) -> Bool {
        runtimeInputs.contains(value) || (self.position[value].map { $0 < position } ?? false)
    }
}
