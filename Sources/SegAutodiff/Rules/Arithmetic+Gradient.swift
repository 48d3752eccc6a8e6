import SegKernels

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
        let a = saved?.a ?? [], b = saved?.b ?? [], y = saved?.y ?? []
        for side in 0..<2 where wanted[side] {
            let dims = side == 0 ? runs.aDims : runs.bDims
            var g = [Float](repeating: 0, count: dims.reduce(1, *))
            let op = op
            dy.scalars.withUnsafeBufferPointer { dp in
                g.withUnsafeMutableBufferPointer { gp in
                    a.withUnsafeBufferPointer { ap in
                        b.withUnsafeBufferPointer { bp in
                            y.withUnsafeBufferPointer { yp in
                                let d = dp.baseAddress!, out = gp.baseAddress!
                                let pa = ap.baseAddress, pb = bp.baseAddress, py = yp.baseAddress
                                runs.forEachRun { o, ia, ib, n, sa, sb in
                                    Self.accumulate(op: op, side: side, n: n, dy: d + o, a: pa.map { $0 + ia }, sa: sa,
                                                    b: pb.map { $0 + ib }, sb: sb, y: py.map { $0 + o },
                                                    into: out + (side == 0 ? ia : ib), stride: side == 0 ? sa : sb)
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

    /// One run of the gradient of one side: out[j·stride] += ∂(a ∘ b)/∂side · dy[j]. A stride
    /// of 0 (a broadcast side) sums the run into one element, vectorised.
    static func accumulate(op: Op, side: Int, n: Int, dy: UnsafePointer<Float>, a: UnsafePointer<Float>?, sa: Int,
                           b: UnsafePointer<Float>?, sb: Int, y: UnsafePointer<Float>?,
                           into out: UnsafeMutablePointer<Float>, stride: Int) {
        switch (op, side) {
        case (.add, _), (.sub, 0):
            if stride == 0 { out[0] += vectorSum(dy, n) } else { for j in 0..<n { out[j] += dy[j] } }
        case (.sub, _):
            if stride == 0 { out[0] -= vectorSum(dy, n) } else { for j in 0..<n { out[j] -= dy[j] } }
        case (.mul, _):
            // ∂/∂a = b, ∂/∂b = a: the other operand, with its own stride.
            guard let other = side == 0 ? b : a else { return }
            let os = side == 0 ? sb : sa
            if stride == 0 && os == 1 { out[0] += vectorDot(dy, other, n) }
            else if stride == 0 { out[0] += other[0] * vectorSum(dy, n) }
            else if os == 0 { let v = other[0]; for j in 0..<n { out[j] += dy[j] * v } }
            else { for j in 0..<n { out[j] += dy[j] * other[j] } }
        case (.div, 0):
            guard let b else { return }
            for j in 0..<n { out[j * stride] += dy[j] / b[j * sb] }
        case (.div, _):
            guard let b, let y else { return }
            for j in 0..<n { out[j * stride] -= dy[j] * y[j] / b[j * sb] }
        }
    }
}
