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
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let pa = ap.baseAddress, let pb = bp.baseAddress, let py = yp.baseAddress else { return }
                    // One loop per op (the switch hoisted out of it), each with the unit-stride and
                    // scalar-operand cases apart, so the common same-shape and per-channel forms vectorise.
                    @inline(__always) func apply(_ f: (Float, Float) -> Float) {
                        runs.forEachRun { o, ia, ib, n, sa, sb in
                            let x = pa + ia, z = pb + ib, out = py + o
                            if sa == 1 && sb == 1 {
                                for j in 0..<n { out[j] = f(x[j], z[j]) }
                            } else if sa == 1 && sb == 0 {
                                let v = z[0]
                                for j in 0..<n { out[j] = f(x[j], v) }
                            } else if sa == 0 && sb == 1 {
                                let v = x[0]
                                for j in 0..<n { out[j] = f(v, z[j]) }
                            } else {
                                for j in 0..<n { out[j] = f(x[j * sa], z[j * sb]) }
                            }
                        }
                    }
                    switch op {
                    case .add: apply(+)
                    case .sub: apply(-)
                    case .mul: apply(*)
                    case .div: apply(/)
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
        let savedA = saved?.a ?? [], savedB = saved?.b ?? [], savedY = saved?.y ?? []
        for side in 0..<2 where wanted[side] {
            let dims = side == 0 ? runs.aDims : runs.bDims
            var g = [Float](repeating: 0, count: dims.reduce(1, *))
            let op = op
            dy.scalars.withUnsafeBufferPointer { dp in
                g.withUnsafeMutableBufferPointer { gp in
                    savedA.withUnsafeBufferPointer { ap in
                        savedB.withUnsafeBufferPointer { bp in
                            savedY.withUnsafeBufferPointer { yp in
                                guard let d = dp.baseAddress, let out = gp.baseAddress else { return }
                                // The saved operands exist where the op needs them (checked above).
                                let a = ap.baseAddress, b = bp.baseAddress, y = yp.baseAddress
                                /// Adds value(j) for j in 0..<n into out[base + j·step]; a broadcast
                                /// target (step 0) takes one sum.
                                @inline(__always) func accumulate(_ base: Int, _ step: Int, _ n: Int, _ value: (Int) -> Float) {
                                    if step == 0 {
                                        var s: Float = 0
                                        for j in 0..<n { s += value(j) }
                                        out[base] += s
                                    } else if step == 1 {
                                        for j in 0..<n { out[base + j] += value(j) }
                                    } else {
                                        for j in 0..<n { out[base + j * step] += value(j) }
                                    }
                                }
                                runs.forEachRun { o, ia, ib, n, sa, sb in
                                    let t = d + o
                                    switch (op, side) {
                                    case (.add, 0), (.sub, 0): accumulate(ia, sa, n) { t[$0] }
                                    case (.add, _): accumulate(ib, sb, n) { t[$0] }
                                    case (.sub, _): accumulate(ib, sb, n) { -t[$0] }
                                    case (.mul, 0): let z = b! + ib; accumulate(ia, sa, n) { t[$0] * z[$0 * sb] }
                                    case (.mul, _): let x = a! + ia; accumulate(ib, sb, n) { t[$0] * x[$0 * sa] }
                                    case (.div, 0): let z = b! + ib; accumulate(ia, sa, n) { t[$0] / z[$0 * sb] }
                                    case (.div, _):
                                        let z = b! + ib, q = y! + o
                                        accumulate(ib, sb, n) { -t[$0] * q[$0] / z[$0 * sb] }
                                    }
                                }
                            }
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
