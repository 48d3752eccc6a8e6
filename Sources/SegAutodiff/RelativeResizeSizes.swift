import SegGraph
import SegReference
import SegTensor

/// Makes a fixed-size export trainable at other input sizes. An export traced at 1×3×360×480
/// bakes its Resize targets in as constants (LRASPP's classifier upsamples to 45×60, its last
/// Resize to 360×480); at 240×320 crops those no longer match the tensors they are added to.
/// Each such target is the spatial size of some tensor the graph already computes (a stride-8
/// feature map, the input image): this rewrite finds the first tensor with that size at the
/// export's shapes that is not computed from the Resize itself, and feeds the Resize
/// `Shape(that)[2:4]` instead, as a dynamic-shape export would. Used only for training
/// programs at shapes other than the declared ones; the model that is written keeps its own
/// constants.
package enum RelativeResizeSizes {
    package static func rewrite(_ model: Model) -> Model {
        guard let declared = try? ShapeInference(model: model) else { return model }
        let graph = model.graph
        guard let order = try? graph.topologicalOrder() else { return model }
        var consumers: [String: [Int]] = [:]
        for (i, node) in graph.nodes.enumerated() { for input in node.inputs where !input.isEmpty { consumers[input, default: []].append(i) } }
        // Values in the order they become available: inputs, then node outputs.
        var available: [String] = graph.runtimeInputs.map(\.name)
        for i in order { available += graph.nodes[i].outputs.filter { !$0.isEmpty } }

        var m = model
        var added = 0
        for (index, node) in graph.nodes.enumerated() where node.domain.isEmpty && node.opType == "Resize" && node.inputs.count >= 4 {
            let sizesName = node.inputs[3]
            guard !sizesName.isEmpty, let sizes = declared.constants[sizesName], sizes.elementCount == 4,
                  let values = try? sizes.converted(to: .i64).scalars(as: Int64.self),
                  let x = node.inputs.first, declared.types[x]?.concreteDims?.count == 4 else { continue }
            let target = values[2...].map { Int($0) }
            let downstream = Self.downstream(of: node.outputs, consumers: consumers, nodes: graph.nodes)
            guard let reference = available.first(where: { name in
                !downstream.contains(name) && name != node.outputs.first
                    && declared.types[name]?.concreteDims.map { $0.count == 4 && Array($0[2...]) == target } == true
            }) else { continue }
            added += 1
            let p = "segslim_train_resize\(added)"
            m.graph.initializers["\(p)_0"] = Tensor(int64: [0])
            m.graph.initializers["\(p)_2"] = Tensor(int64: [2])
            m.graph.initializers["\(p)_4"] = Tensor(int64: [4])
            m.graph.nodes += [
                Node(name: "\(p)/shape_x", opType: "Shape", inputs: [x], outputs: ["\(p)/shape_x"]),
                Node(name: "\(p)/nc", opType: "Slice", inputs: ["\(p)/shape_x", "\(p)_0", "\(p)_2", "\(p)_0"], outputs: ["\(p)/nc"]),
                Node(name: "\(p)/shape_ref", opType: "Shape", inputs: [reference], outputs: ["\(p)/shape_ref"]),
                Node(name: "\(p)/hw", opType: "Slice", inputs: ["\(p)/shape_ref", "\(p)_2", "\(p)_4", "\(p)_0"], outputs: ["\(p)/hw"]),
                Node(name: "\(p)/sizes", opType: "Concat", inputs: ["\(p)/nc", "\(p)/hw"], outputs: ["\(p)/sizes"],
                     attributes: [NamedAttribute("axis", .int(0))]),
            ]
            m.graph.nodes[index].inputs[3] = "\(p)/sizes"
        }
        return m
    }

    /// Every value computed from `outputs` (including them).
    static func downstream(of outputs: [String], consumers: [String: [Int]], nodes: [Node]) -> Set<String> {
        var seen = Set(outputs.filter { !$0.isEmpty })
        var queue = Array(seen)
        while let value = queue.popLast() {
            for i in consumers[value] ?? [] {
                for out in nodes[i].outputs where !out.isEmpty && seen.insert(out).inserted { queue.append(out) }
            }
        }
        return seen
    }
}

extension Tensor {
    /// A 1-D int64 tensor (shape constants).
    init(int64 values: [Int64]) {
        self = (try? Tensor(dims: [values.count], scalars: values)) ?? Tensor(scalar: Int64(0))
    }
}
