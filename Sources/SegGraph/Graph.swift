import SegTensor

/// A dataflow graph (ONNX `GraphProto`): nodes connected by value names.
///
/// Values are defined by graph inputs, initializers, or exactly one node output. A subgraph
/// (If/Loop body) may also read values of the graphs enclosing it. `nodes` is kept in the
/// order given; use `topologicalOrder()` when an execution order is needed.
public struct Graph: Sendable, Equatable {
    public var name: String
    public var nodes: [Node]
    public var inputs: [ValueInfo]
    public var outputs: [ValueInfo]
    public var initializers: Initializers
    /// Declared types of intermediate values.
    public var valueInfo: [ValueInfo]
    public var docString: String

    public init(name: String = "", nodes: [Node] = [], inputs: [ValueInfo] = [], outputs: [ValueInfo] = [],
                initializers: Initializers = Initializers(), valueInfo: [ValueInfo] = [], docString: String = "") {
        self.name = name
        self.nodes = nodes
        self.inputs = inputs
        self.outputs = outputs
        self.initializers = initializers
        self.valueInfo = valueInfo
        self.docString = docString
    }

    /// Graph inputs that are not initializers: what a caller must feed.
    public var runtimeInputs: [ValueInfo] {
        inputs.filter { !initializers.contains($0.name) }
    }

    /// Index of the node producing each value.
    public var producers: [String: Int] {
        var map: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            for output in node.outputs where !output.isEmpty && map[output] == nil { map[output] = index }
        }
        return map
    }

    /// Indices of the nodes that read each value, in node order; reads from inside a node's
    /// subgraphs count as reads by that node. Rewrite passes use it to find single-use values.
    public var consumers: [String: [Int]] {
        var map: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for name in Set(node.inputs.filter { !$0.isEmpty }).union(node.subgraphReferences) {
                map[name, default: []].append(index)
            }
        }
        return map
    }

    /// Number of nodes per op type, subgraphs included.
    public var opCounts: [String: Int] {
        var counts: [String: Int] = [:]
        for node in nodes {
            counts[node.opType, default: 0] += 1
            for attribute in node.attributes {
                for sub in attribute.value.subgraphs {
                    counts.merge(sub.opCounts, uniquingKeysWith: +)
                }
            }
        }
        return counts
    }

    /// Values this graph reads but does not define: references to enclosing graphs.
    public var outerScopeReferences: Set<String> {
        var defined = Set(inputs.map(\.name)).union(initializers.names)
        for node in nodes { defined.formUnion(node.outputs) }
        var free = Set<String>()
        for node in nodes {
            for input in node.inputs where !input.isEmpty && !defined.contains(input) { free.insert(input) }
            free.formUnion(node.subgraphReferences.subtracting(defined))
        }
        return free
    }
}

extension Node {
    /// Outer-scope values read by this node's subgraphs; they are implicit inputs.
    public var subgraphReferences: Set<String> {
        var refs = Set<String>()
        for attribute in attributes {
            for sub in attribute.value.subgraphs { refs.formUnion(sub.outerScopeReferences) }
        }
        return refs
    }
}
