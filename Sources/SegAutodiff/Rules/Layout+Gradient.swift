/// Ops that move data without arithmetic. Reshape-like ops only relabel dims (their output
/// shape comes from inference at the program's input shapes); Concat copies blocks.
enum LayoutGradients {
    static let all: [GradientRule] = ["Reshape", "Flatten", "Squeeze", "Unsqueeze"].map { op in
        GradientRule(op) { ctx throws(AutodiffError) in
            ReshapeStep(label: ctx.label, inputDims: try ctx.inputShape(0), outputDims: try ctx.outputShape(0))
        }
    } + [
        GradientRule("Concat") { ctx throws(AutodiffError) in try ConcatStep(ctx) },
    ]
}

final class ReshapeStep: DifferentiableStep {
    let label: String
    let inputDims: [Int], outputDims: [Int]

    init(label: String, inputDims: [Int], outputDims: [Int]) {
        self.label = label
        self.inputDims = inputDims
        self.outputDims = outputDims
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        guard x.count == outputDims.reduce(1, *) else { throw .node(label, "cannot reshape \(x.dims) to \(outputDims)") }
        return [FloatTensor(dims: outputDims, scalars: x.scalars)]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        if wanted[0], let dy = outputGradients[0] { grads[0] = FloatTensor(dims: inputDims, scalars: dy.scalars) }
        return grads
    }

    func release() {}
}

/// Concat along one axis: each input is `outer` blocks of `inner·dims[axis]` floats.
final class ConcatStep: DifferentiableStep {
    let label: String
    let shapes: [[Int]]
    let fixed: [[Float]?]
    let outer: Int, inner: Int
    let outputDims: [Int]

    init(_ ctx: RuleContext) throws(AutodiffError) {
        label = ctx.label
        var shapes: [[Int]] = []
        for i in ctx.node.inputs.indices { shapes.append(try ctx.inputShape(i)) }
        guard let first = shapes.first else { throw ctx.error("needs at least one input") }
        let rank = first.count
        var axis = try ctx.attribute { try $0.int("axis") }
        if axis < 0 { axis += rank }
        guard (0..<rank).contains(axis) else { throw ctx.error("axis out of range for rank \(rank)") }
        for s in shapes {
            guard s.count == rank, (0..<rank).allSatisfy({ $0 == axis || s[$0] == first[$0] }) else {
                throw ctx.error("inputs \(shapes) differ outside axis \(axis)")
            }
        }
        self.shapes = shapes
        outer = first[..<axis].reduce(1, *)
        inner = first[(axis + 1)...].reduce(1, *)
        var out = first
        out[axis] = shapes.reduce(0) { $0 + $1[axis] }
        outputDims = out
        fixed = try ctx.node.inputs.indices.map { i throws(AutodiffError) in try ctx.constantFloats(i) }
    }

    private func block(_ i: Int) -> Int { shapes[i].reduce(1, *) / max(1, outer) }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        var y = [Float](); y.reserveCapacity(outputDims.reduce(1, *))
        var parts: [[Float]] = []
        for i in shapes.indices {
            guard let v = inputs[i]?.scalars ?? fixed[i] else { throw .node(label, "input \(i) is missing") }
            parts.append(v)
        }
        for o in 0..<outer {
            for (i, p) in parts.enumerated() {
                let b = block(i)
                y.append(contentsOf: p[(o * b)..<((o + 1) * b)])
            }
        }
        return [FloatTensor(dims: outputDims, scalars: y)]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard let dy = outputGradients[0] else { return grads }
        let rowLength = shapes.indices.reduce(0) { $0 + block($1) }
        var start = 0
        for i in shapes.indices {
            let b = block(i)
            if wanted[i] {
                var g = [Float](); g.reserveCapacity(b * outer)
                for o in 0..<outer { g.append(contentsOf: dy.scalars[(o * rowLength + start)..<(o * rowLength + start + b)]) }
                grads[i] = FloatTensor(dims: shapes[i], scalars: g)
            }
            start += b
        }
        return grads
    }

    func release() {}
}
