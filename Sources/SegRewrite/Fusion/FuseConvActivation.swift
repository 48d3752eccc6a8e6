import SegGraph
import SegTensor

/// Conv → Add(residual) → activation, Conv → Add(residual) and Conv → activation, each into
/// one `ai.segslim::FusedConv` (the runtime's conv kernels add the residual and apply the
/// activation in their epilogue). Targets: `Conv` nodes of the default domain.
///
/// Conditions (cheap, per Conv): each intermediate value is read by the next node alone and
/// is not a graph output; the Add's other operand is ready before the Conv runs (a graph
/// input or an earlier node's output, in topological order) and has the Conv's output shape;
/// the activation is in `EpilogueActivation`. With `facts`, also: the target runs this Conv
/// fused, every value involved lives in its float arena, and no other plan claims the nodes.
package struct FuseConvActivation: GraphRewrite {
    package let name = "fuseConvActivation"
    package static let targetOpTypes: Set<String> = ["Conv"]
    package var facts: FusionFacts?

    package init(facts: FusionFacts? = nil) { self.facts = facts }

    /// A Conv and what follows it that one `FusedConv` computes.
    struct Match {
        var conv: Int
        var add: (index: Int, residual: String)?
        var activation: (index: Int, value: EpilogueActivation)?
        var output: String
    }

    package func apply(to model: inout Model) throws -> Int {
        let graph = model.graph
        guard graph.nodes.contains(where: { Self.targetOpTypes.contains($0.opType) && $0.domain.isEmpty }) else { return 0 }
        let index = try FusionGraphIndex(graph, facts: facts)
        func activation(after value: String) -> (Int, EpilogueActivation)? {
            guard let j = index.soleReader(value) else { return nil }
            let n = graph.nodes[j]
            guard n.domain.isEmpty, n.inputs.first == value, let o = n.outputs.first, index.isPlanned(o), index.isFree(n),
                  let a = EpilogueActivation(node: n, constant: index.constant) else { return nil }
            return (j, a)
        }

        var matches: [Match] = []
        var used = Set<Int>()
        for i in index.order {
            let conv = graph.nodes[i]
            guard conv.opType == "Conv", conv.domain.isEmpty, !used.contains(i), index.isFree(conv), let out = conv.outputs.first, !out.isEmpty,
                  facts.map({ $0.convs.contains(out) }) ?? true, let convAt = index.position[out] else { continue }
            var m = Match(conv: i, output: out)
            if let j = index.soleReader(out), !used.contains(j), graph.nodes[j].opType == "Add", graph.nodes[j].domain.isEmpty,
               index.isFree(graph.nodes[j]), graph.nodes[j].inputs.count == 2, let addOut = graph.nodes[j].outputs.first, index.isPlanned(addOut),
               let other = graph.nodes[j].inputs.first(where: { $0 != out }), index.isPlanned(other), index.dims(other) == index.dims(out),
               index.isAvailable(other, before: convAt) {
                m.add = (j, other)
                m.output = addOut
                if let (k, a) = activation(after: addOut), !used.contains(k) {
                    m.activation = (k, a)
                    m.output = graph.nodes[k].outputs[0]
                }
            } else if let (k, a) = activation(after: out), !used.contains(k) {
                m.activation = (k, a)
                m.output = graph.nodes[k].outputs[0]
            }
            guard m.add != nil || m.activation != nil else { continue }
            used.formUnion([i] + [m.add?.index, m.activation?.index].compactMap { $0 })
            matches.append(m)
        }
        guard !matches.isEmpty else { return 0 }

        var removed = Set<Int>()
        for m in matches {
            let conv = graph.nodes[m.conv]
            var inputs = Array(conv.inputs.prefix(3))
            while inputs.count < 3 { inputs.append("") }
            if let add = m.add { inputs.append(add.residual) } else {
                while inputs.last == "" { inputs.removeLast() }
            }
            model.graph.nodes[m.conv] = Node(name: conv.name, opType: FusedOps.fusedConv, domain: FusedOps.domain, inputs: inputs,
                                             outputs: [m.output], attributes: conv.attributes + (m.activation?.value.attributes ?? []),
                                             docString: conv.docString)
            removed.formUnion([m.add?.index, m.activation?.index].compactMap { $0 })
        }
        model.graph.nodes = model.graph.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        model.addFusedDomainImport()
        return matches.count
    }
}
