extension Graph {
    /// Node indices in an order where every node comes after the producers of its inputs
    /// (including values its subgraphs read). Among ready nodes the original order wins, so an
    /// already sorted graph keeps its order.
    public func topologicalOrder() throws(GraphError) -> [Int] {
        let producer = producers
        var dependents = [[Int]](repeating: [], count: nodes.count)
        var pending = [Int](repeating: 0, count: nodes.count)
        for (index, node) in nodes.enumerated() {
            var seen = Set<Int>()
            for input in dependencies(of: node) {
                guard let source = producer[input], seen.insert(source).inserted else { continue }
                dependents[source].append(index)
                pending[index] += 1
            }
        }

        var ready = MinHeap(pending.indices.filter { pending[$0] == 0 })
        var order: [Int] = []
        order.reserveCapacity(nodes.count)
        while let next = ready.pop() {
            order.append(next)
            for dependent in dependents[next] {
                pending[dependent] -= 1
                if pending[dependent] == 0 { ready.push(dependent) }
            }
        }
        guard order.count == nodes.count else { throw .cycle(nodes: cycle(among: pending, producer: producer)) }
        return order
    }

    /// The nodes in topological order.
    public func sortedNodes() throws(GraphError) -> [Node] {
        try topologicalOrder().map { nodes[$0] }
    }

    private func dependencies(of node: Node) -> [String] {
        node.inputs.filter { !$0.isEmpty } + node.subgraphReferences.sorted()
    }

    /// Walks producer links among the nodes Kahn's algorithm could not schedule until one
    /// repeats; the repeated stretch is a cycle. Labels come out in dependency order.
    private func cycle(among pending: [Int], producer: [String: Int]) -> [String] {
        guard var current = pending.indices.first(where: { pending[$0] > 0 }) else { return [] }
        var path: [Int] = []
        var position: [Int: Int] = [:]
        while position[current] == nil {
            position[current] = path.count
            path.append(current)
            guard let next = dependencies(of: nodes[current]).compactMap({ producer[$0] })
                .first(where: { pending[$0] > 0 }) else { break }
            current = next
        }
        // Reverse the consumer→producer walk into dependency order, then rotate so the
        // earliest-listed node leads: the same cycle is always reported the same way.
        let cycle = Array(path[(position[current] ?? 0)...].reversed())
        let lead = cycle.indices.min { cycle[$0] < cycle[$1] } ?? 0
        return (cycle[lead...] + cycle[..<lead]).map { nodes[$0].label(index: $0) }
    }
}

/// A binary min-heap of node indices.
private struct MinHeap {
    private var items: [Int]

    init(_ items: [Int]) { self.items = items.sorted() }  // a sorted array is a valid heap

    mutating func push(_ value: Int) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Int? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return first }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count, items[left] < items[smallest] { smallest = left }
            if right < items.count, items[right] < items[smallest] { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
