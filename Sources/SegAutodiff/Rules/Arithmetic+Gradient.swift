/// Add, Sub, Mul and Div with broadcasting. Gradients are summed back over broadcast axes.
enum ArithmeticGradients {
    static let all: [GradientRule] = ArithmeticStep.Op.allCases.map { op in
        GradientRule(op.rawValue) { ctx throws(AutodiffError) in try ArithmeticStep(ctx, op: op) }
    }
}

final class ArithmeticStep: DifferentiableStep {
    enum Op: String, CaseIterable, Sendable { case add = "Add", sub = "Sub", mul = "Mul", div = "Div" }

    let label: String
    let op: Op
    let runs: BroadcastRuns
    let fixed: [[Float]?]
    private var saved: (a: [Float], b: [Float], y: [Float])?

    init(_ ctx: RuleContext, op: Op) throws(AutodiffError) {
        label = ctx.label
        self.op = op
        let a = try ctx.inputShape(0), b = try ctx.inputShape(1)
        guard let runs = BroadcastRuns(a, b) else { throw ctx.error("shapes \(a) and \(b) do not broadcast") }
        self.runs = runs
        fixed = [try ctx.constantFloats(0), try ctx.constantFloats(1)]
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let a = inputs[0]?.scalars ?? fixed[0], let b = inputs[1]?.scalars ?? fixed[1] else {
            throw .node(label, "an operand is missing")
        }
        var y = [Float](repeating: 0, count: runs.count)
        let op = op
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                y.withUnsafeMutableBufferPointer { yp in
                    let pa = ap.baseAddress!, pb = bp.baseAddress!, py = yp.baseAddress!
                    runs.forEachRun { o, ia, ib, n, sa, sb in
                        for j in 0..<n {
                            let x = pa[ia + j * sa], z = pb[ib + j * sb]
                            switch op {
                            case .add: py[o + j] = x + z
                            case .sub: py[o + j] = x - z
                            case .mul: py[o + j] = x * z
                            case .div: py[o + j] = x / z
                            }
                        }
                    }
                }
            }
        }
        // Add and Sub need nothing for their backward; Mul needs both operands, Div b and y.
        saved = op == .add || op == .sub ? nil : (op == .mul ? a : [], b, op == .div ? y : [])
        return [FloatTensor(dims: runs.outputDims, scalars: y)]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard let dy = outputGradients[0] else { return grads }
        if (op == .mul || op == .div) && saved == nil { throw .node(label, "backward before forward") }
        for side in 0..<2 where wanted[side] {
            let dims = side == 0 ? runs.aDims : runs.bDims
            var g = [Float](repeating: 0, count: dims.reduce(1, *))
            let op = op, saved = saved
            dy.scalars.withUnsafeBufferPointer { dp in
                g.withUnsafeMutableBufferPointer { gp in
                    let d = dp.baseAddress!, out = gp.baseAddress!
                    runs.forEachRun { o, ia, ib, n, sa, sb in
                        let (base, step) = side == 0 ? (ia, sa) : (ib, sb)
                        for j in 0..<n {
                            let t = d[o + j]
                            let v: Float
                            switch (op, side) {
                            case (.add, _), (.sub, 0): v = t
                            case (.sub, _): v = -t
                            case (.mul, 0): v = t * saved!.b[ib + j * sb]
                            case (.mul, _): v = t * saved!.a[ia + j * sa]
                            case (.div, 0): v = t / saved!.b[ib + j * sb]
                            case (.div, _): v = -t * saved!.y[o + j] / saved!.b[ib + j * sb]
                            }
                            out[base + j * step] += v
                        }
                    }
                }
            }
            grads[side] = FloatTensor(dims: dims, scalars: g)
        }
        return grads
    }

    func release() { saved = nil }
}
