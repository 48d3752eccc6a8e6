import SegGraph

/// Removes nodes none of whose outputs is read (by a node, a subgraph or a graph output),
/// and initializers nothing reads.
package struct EliminateDeadNodes: GraphRewrite {
    package let name = "eliminateDeadNodes"
    package init() {}

    package func apply(to model: inout Model) throws -> Int {
        var g = model.graph
        var count = 0
        var changed = true
        while changed {
            changed = false
            var read = Set(g.outputs.map(\.name))
            for n in g.nodes {
                read.formUnion(n.inputs.filter { !$0.isEmpty })
                read.formUnion(n.subgraphReferences)
            }
            let before = g.nodes.count
            g.nodes.removeAll { node in !node.outputs.contains { !$0.isEmpty && read.contains($0) } }
            if g.nodes.count != before { count += before - g.nodes.count; changed = true }
            for name in g.initializers.names where !read.contains(name) {
                g.initializers[name] = nil
                // Also drop it from the graph inputs (IR < 4 lists initializers there).
                g.inputs.removeAll { $0.name == name }
                count += 1
                changed = true
            }
        }
        model.graph = g
        return count
    }
}
