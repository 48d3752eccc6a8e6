extension Graph {
    /// Checks that the graph is well formed: unique node names, every value defined once,
    /// every read value defined, graph outputs defined, no cycles; subgraphs recursively, with
    /// the enclosing graphs' values in scope.
    public func validate() throws(GraphError) {
        try validate(outerScope: [])
    }

    private func validate(outerScope: Set<String>) throws(GraphError) {
        // Where each value comes from, for duplicate messages.
        var definer: [String: String] = [:]
        for input in inputs {
            if let previous = definer[input.name] {
                throw .duplicateValue(name: input.name, definers: [previous, "graph input"])
            }
            definer[input.name] = "graph input"
        }
        for name in initializers.names where definer[name] == nil {
            // An initializer may also be listed as a graph input (IR < 4 convention).
            definer[name] = "initializer"
        }

        var nodeNames = Set<String>()
        for (index, node) in nodes.enumerated() {
            if !node.name.isEmpty, !nodeNames.insert(node.name).inserted {
                throw .duplicateNodeName(node.name)
            }
            let label = "node " + node.label(index: index)
            for output in node.outputs where !output.isEmpty {
                if let previous = definer[output] {
                    throw .duplicateValue(name: output, definers: [previous, label])
                }
                definer[output] = label
            }
        }

        let visible = outerScope.union(definer.keys)
        for (index, node) in nodes.enumerated() {
            for input in node.inputs where !input.isEmpty && !visible.contains(input) {
                throw .danglingInput(node: node.label(index: index), input: input)
            }
            for attribute in node.attributes {
                for subgraph in attribute.value.subgraphs {
                    do { try subgraph.validate(outerScope: visible) } catch {
                        throw .inSubgraph(node: node.label(index: index), attribute: attribute.name, error)
                    }
                }
            }
        }
        for output in outputs where !visible.contains(output.name) {
            throw .undefinedGraphOutput(output.name)
        }
        _ = try topologicalOrder()
    }
}
