import SegGraph

/// One graph rewrite (ONNX Runtime's optimizer style): it has a name, looks for its pattern,
/// rewrites every match, and says how many it rewrote. `RewriteManager` reruns rewrites until
/// none changes the graph.
package protocol GraphRewrite: Sendable {
    var name: String { get }
    /// Rewrites every match in `model`; returns the number of rewrites done (0: unchanged).
    func apply(to model: inout Model) throws -> Int
}

/// Runs rewrites to a fixed point and counts what each did.
package struct RewriteManager: Sendable {
    package let rewrites: [any GraphRewrite]
    /// A bound on rounds, in case two rewrites undo each other.
    package var maxRounds = 20

    package init(_ rewrites: [any GraphRewrite]) { self.rewrites = rewrites }

    /// Returns the rewritten model and the count per rewrite name (in rewrite order).
    package func run(_ model: Model) throws -> (model: Model, counts: [(name: String, count: Int)]) {
        var m = model
        var counts = rewrites.map { ($0.name, 0) }
        for _ in 0..<maxRounds {
            var changed = 0
            for (i, r) in rewrites.enumerated() {
                let n = try r.apply(to: &m)
                counts[i].1 += n
                changed += n
            }
            if changed == 0 { break }
        }
        try m.graph.validate()
        return (m, counts.map { (name: $0.0, count: $0.1) })
    }
}

extension Graph {
    /// Replaces every read of `old` (node inputs, graph outputs) with `new`.
    mutating func rename(value old: String, to new: String) {
        for i in nodes.indices {
            for j in nodes[i].inputs.indices where nodes[i].inputs[j] == old { nodes[i].inputs[j] = new }
        }
        for i in outputs.indices where outputs[i].name == old { outputs[i].name = new }
    }

    /// Whether `name` is read by a graph output.
    func isGraphOutput(_ name: String) -> Bool { outputs.contains { $0.name == name } }

    /// How many node inputs read `name` (graph outputs not counted).
    func readers(of name: String) -> Int {
        nodes.reduce(0) { $0 + $1.inputs.filter { $0 == name }.count } + nodes.reduce(0) { $0 + ($1.subgraphReferences.contains(name) ? 1 : 0) }
    }

    /// The index of the default-domain node of one of `opTypes` whose first output is `name`,
    /// when one node input reads `name` and no graph output does: a producer a rewrite may
    /// fold the reader into (FoldBatchNorm, FoldConvBiasAdd).
    func soleProducer(of name: String, opTypes: Set<String>) -> Int? {
        guard readers(of: name) == 1, !isGraphOutput(name),
              let p = nodes.firstIndex(where: { $0.outputs.first == name }),
              opTypes.contains(nodes[p].opType), nodes[p].domain.isEmpty else { return nil }
        return p
    }

    /// A value name not used anywhere in the graph, based on `base`.
    func freshName(_ base: String) -> String {
        var names = NameAllocator(self)
        return names.fresh(base)
    }
}
