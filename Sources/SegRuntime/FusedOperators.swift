import SegGraph
import SegReference
import SegRewrite
import SegTensor

/// Reference definitions of the fused nodes SegRewrite makes (`ai.segslim`): shape inference
/// for a rewritten graph, and the explicit reference fallback where no fast kernel takes one.
/// Each runs the standard definitions of the ops it fused, in their order, so its results are
/// those of the unfused graph.
enum FusedOperators {
    static let all = [fusedConv, attention, gelu]

    /// The standard registry plus the fused ops.
    static func registry(_ base: OperatorRegistry) -> OperatorRegistry {
        var r = base
        for d in all where r.definition(domain: d.domain, opType: d.opType, opset: 1) == nil { r.register(d) }
        return r
    }

    /// The opset the inner standard ops run at (Clip's bounds as inputs).
    static let innerOpset = 17

    static func standard(_ opType: String) throws -> OperatorDefinition {
        guard let d = OperatorRegistry.standard.definition(domain: "", opType: opType, opset: innerOpset) else {
            throw OpError.other("no standard \(opType) to run a fused node with")
        }
        return d
    }

    /// The Conv a FusedConv node started as: its attributes without the epilogue's.
    static func convNode(_ node: Node) -> Node {
        let epilogue: Set<String> = ["activation", "alpha", "beta", "min", "max"]
        return Node(name: node.name, opType: "Conv", inputs: Array(node.inputs.prefix(3)), outputs: node.outputs,
                    attributes: node.attributes.filter { !epilogue.contains($0.name) })
    }

    static let fusedConv = OperatorDefinition(
        FusedOps.fusedConv, domain: FusedOps.domain, versions: 1...1,
        attributes: ConvGeometry.attributeNames.union(["group", "activation", "alpha", "beta", "min", "max"]),
        infer: { ctx, inputs in
            let conv = convNode(ctx.node)
            return try standard("Conv").infer?(NodeContext(node: conv, opset: innerOpset), Array(inputs.prefix(3))) ?? [nil]
        }
    ) { ctx, inputs in
        let conv = convNode(ctx.node)
        var y = try standard("Conv").run(NodeContext(node: conv, opset: innerOpset), Array(inputs.prefix(3)))[0]
        if inputs.count > 3, let residual = inputs[3] {
            let add = Node(opType: "Add", inputs: ["c", "r"], outputs: ["s"])
            y = try standard("Add").run(NodeContext(node: add, opset: innerOpset), [y, residual])[0]
        }
        guard let activation = try EpilogueActivation(fusedNode: ctx.node) else { return [y] }
        switch activation {
        case .clip(let lo, let hi):
            let clip = Node(opType: "Clip", inputs: ["s", "min", "max"], outputs: ["y"])
            return try standard("Clip").run(NodeContext(node: clip, opset: innerOpset),
                                            [y, try Tensor(dims: [], scalars: [lo]), try Tensor(dims: [], scalars: [hi])])
        case .hardSigmoid(let alpha, let beta):
            let node = Node(opType: "HardSigmoid", inputs: ["s"], outputs: ["y"],
                            attributes: [NamedAttribute("alpha", .float(alpha)), NamedAttribute("beta", .float(beta))])
            return try standard("HardSigmoid").run(NodeContext(node: node, opset: innerOpset), [y])
        case .relu, .sigmoid, .hardSwish:
            let node = Node(opType: activation.opType, inputs: ["s"], outputs: ["y"])
            return try standard(activation.opType).run(NodeContext(node: node, opset: innerOpset), [y])
        }
    }

    static let attention = OperatorDefinition(
        FusedOps.attention, domain: FusedOps.domain, versions: 1...1, attributes: ["scale"],
        infer: { ctx, inputs in
            guard inputs.count == 3 else { return [nil] }
            let scores = try standard("MatMul").infer?(NodeContext(node: Node(opType: "MatMul", inputs: ["q", "k"], outputs: ["s"]), opset: innerOpset),
                                                      [inputs[0], inputs[1]]) ?? [nil]
            guard let s = scores.first ?? nil else { return [nil] }
            return try standard("MatMul").infer?(NodeContext(node: Node(opType: "MatMul", inputs: ["s", "v"], outputs: ["y"]), opset: innerOpset),
                                                 [InferredValue(type: s), inputs[2]]) ?? [nil]
        }
    ) { ctx, inputs in
        let (q, k, v) = (try required(inputs, 0), try required(inputs, 1), try required(inputs, 2))
        let scale = ctx.node[attribute: "scale"]?.floatValue ?? 1
        func run(_ op: String, _ node: Node, _ xs: [Tensor?]) throws -> Tensor {
            try standard(op).run(NodeContext(node: node, opset: innerOpset), xs)[0]
        }
        var s = try run("MatMul", Node(opType: "MatMul", inputs: ["q", "k"], outputs: ["s"]), [q, k])
        if scale != 1 { s = try run("Mul", Node(opType: "Mul", inputs: ["s", "c"], outputs: ["t"]), [s, try Tensor(dims: [], scalars: [scale])]) }
        s = try run("Softmax", Node(opType: "Softmax", inputs: ["t"], outputs: ["p"], attributes: [NamedAttribute("axis", .int(-1))]), [s])
        return [try run("MatMul", Node(opType: "MatMul", inputs: ["p", "v"], outputs: ["y"]), [s, v])]
    }

    static let gelu = OperatorDefinition(
        FusedOps.gelu, domain: FusedOps.domain, versions: 1...1, attributes: ["scale"],
        infer: { _, inputs in [inputs.first??.type] }
    ) { ctx, inputs in
        let x = try required(inputs, 0)
        let scale = try Tensor(dims: [], scalars: [ctx.node[attribute: "scale"]?.floatValue ?? 1])
        func run(_ op: String, _ xs: [Tensor]) throws -> Tensor {
            try standard(op).run(NodeContext(node: Node(opType: op, inputs: xs.indices.map { "i\($0)" }, outputs: ["o"]), opset: innerOpset), xs)[0]
        }
        let e = try run("Erf", [try run("Mul", [x, scale])])
        let one = try Tensor(dims: [], scalars: [Float(1)]), half = try Tensor(dims: [], scalars: [Float(0.5)])
        return [try run("Mul", [try run("Mul", [x, try run("Add", [e, one])]), half])]
    }
}
