/// A structural problem in a graph. Messages name the node (or its op type and index when it
/// has no name) and the value at fault.
public indirect enum GraphError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A node reads a value that nothing defines.
    case danglingInput(node: String, input: String)
    /// A graph output that nothing defines.
    case undefinedGraphOutput(String)
    /// A value defined twice; `definers` describes both definitions.
    case duplicateValue(name: String, definers: [String])
    case duplicateNodeName(String)
    /// The nodes on one dependency cycle, in dependency order.
    case cycle(nodes: [String])
    /// A problem inside a subgraph attribute of `node`.
    case inSubgraph(node: String, attribute: String, GraphError)

    public var description: String {
        switch self {
        case .danglingInput(let node, let input):
            "node \(node) reads value '\(input)', which no node, graph input or initializer defines"
        case .undefinedGraphOutput(let name):
            "graph output '\(name)' is not produced by any node, input or initializer"
        case .duplicateValue(let name, let definers):
            "value '\(name)' is defined more than once: by " + definers.joined(separator: " and by ")
        case .duplicateNodeName(let name):
            "more than one node is named '\(name)'"
        case .cycle(let nodes):
            "the graph has a cycle through nodes " + nodes.joined(separator: " → ")
        case .inSubgraph(let node, let attribute, let error):
            "in subgraph '\(attribute)' of node \(node): \(error.description)"
        }
    }
}
