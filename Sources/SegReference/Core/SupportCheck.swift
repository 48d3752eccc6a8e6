import SegGraph

extension OperatorRegistry {
    /// Checks every node (subgraphs included) against the registry: op and opset implemented,
    /// attributes understood, attribute values supported. Returns every problem at once,
    /// grouped by (domain, op, opset, reason), so a user sees the whole list in one go.
    package func unsupportedUses(in model: Model) -> [UnsupportedUse] {
        var groups: [String: UnsupportedUse] = [:]
        var order: [String] = []
        func note(_ node: Node, _ index: Int, opset: Int, _ reason: String) {
            let key = "\(node.domain)|\(node.opType)|\(opset)|\(reason)"
            if groups[key] == nil {
                groups[key] = UnsupportedUse(domain: node.domain, opType: node.opType, opset: opset, nodes: [], reason: reason)
                order.append(key)
            }
            groups[key]?.nodes.append(node.label(index: index))
        }
        func visit(_ graph: Graph) {
            for (index, node) in graph.nodes.enumerated() {
                guard let opset = model.opsetVersion(for: Self.canonical(node.domain)) ?? model.opsetVersion(for: node.domain) else {
                    note(node, index, opset: 0, "the model imports no opset for domain '\(node.domain)'")
                    continue
                }
                guard let def = definition(domain: node.domain, opType: node.opType, opset: opset) else {
                    note(node, index, opset: opset, "operator not implemented")
                    continue
                }
                for a in node.attributes where !def.attributes.contains(a.name) {
                    note(node, index, opset: opset, "attribute '\(a.name)' not supported")
                }
                if let check = def.check {
                    do { try check(NodeContext(node: node, opset: opset)) } catch { note(node, index, opset: opset, OpError(error).description) }
                }
                for a in node.attributes { for sub in a.value.subgraphs { visit(sub) } }
            }
        }
        visit(model.graph)
        return order.compactMap { groups[$0] }
    }
}
