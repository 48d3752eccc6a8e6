/// Hands out value and node names that nothing in a graph uses yet (`base`, else `base_1`,
/// `base_2`, ...), remembering each one it gave so a writer adding many nodes never clashes.
public struct NameAllocator: Sendable {
    private var used: Set<String>

    /// Every initializer, graph input and node output of `graph` counts as used, and node
    /// names too with `nodeNames` (for writers that name nodes from the same allocator).
    public init(_ graph: Graph, nodeNames: Bool = false) {
        used = Set(graph.initializers.names).union(graph.inputs.map(\.name))
        for node in graph.nodes {
            if nodeNames { used.insert(node.name) }
            used.formUnion(node.outputs)
        }
    }

    public mutating func fresh(_ base: String) -> String {
        var name = base, k = 1
        while used.contains(name) { name = "\(base)_\(k)"; k += 1 }
        used.insert(name)
        return name
    }
}
