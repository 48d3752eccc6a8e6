import Foundation
import SegKernels

/// Elementwise activations. Each kind has its forward and its derivative written once; a
/// step keeps its input (and output where the derivative reads it).
enum ActivationGradients {
    static let all: [GradientRule] = [
        unary("Relu") { _ in .relu },
        unary("LeakyRelu") { ctx throws(AutodiffError) in .leakyRelu(alpha: try ctx.attribute { try $0.float("alpha", default: 0.01) }) },
        unary("HardSwish") { _ in .hardSwish },
        unary("HardSigmoid") { ctx throws(AutodiffError) in
            .hardSigmoid(alpha: try ctx.attribute { try $0.float("alpha", default: 0.2) },
                         beta: try ctx.attribute { try $0.float("beta", default: 0.5) })
        },
        unary("Sigmoid") { _ in .sigmoid },
        unary("Tanh") { _ in .tanh },
        unary("Erf") { _ in .erf },
        unary("Gelu", versions: 20...Int.max) { ctx throws(AutodiffError) in
            let approximate = try ctx.attribute { try $0.string("approximate", default: "none") }
            guard approximate == "none" || approximate == "tanh" else { throw ctx.error("approximate '\(approximate)' is not none or tanh") }
            return approximate == "tanh" ? .geluTanh : .gelu
        },
        unary("Identity") { _ in .identity },
        GradientRule("Clip") { ctx throws(AutodiffError) in
            let low: Float, high: Float
            if ctx.attributes.opset < 11 {
                low = try ctx.attribute { try $0.float("min", default: -.greatestFiniteMagnitude) }
                high = try ctx.attribute { try $0.float("max", default: .greatestFiniteMagnitude) }
            } else {
                for i in [1, 2] where i < ctx.dynamic.count && ctx.dynamic[i] {
                    throw ctx.error("Clip bounds must be constants to train")
                }
                low = try ctx.constantFloats(1)?.first ?? -.greatestFiniteMagnitude
                high = try ctx.constantFloats(2)?.first ?? .greatestFiniteMagnitude
            }
            return UnaryStep(label: ctx.label, kind: .clip(low, high), context: ctx.kernels)
        },
    ]

    static func unary(_ op: String, versions: ClosedRange<Int> = 1...Int.max,
                      _ kind: @escaping @Sendable (RuleContext) throws(AutodiffError) -> UnaryKind) -> GradientRule {
        GradientRule(op, versions: versions) { ctx throws(AutodiffError) in
            UnaryStep(label: ctx.label, kind: try kind(ctx), context: ctx.kernels)
        }
    }
}

enum UnaryKind: Sendable, Equatable {
    case identity, relu, hardSwish, sigmoid, tanh, erf, gelu, geluTanh
    case leakyRelu(alpha: Float)
    case hardSigmoid(alpha: Float, beta: Float)
    case clip(Float, Float)

    func value(_ x: Float) -> Float {
        switch self {
        case .identity: return x
        case .relu: return max(x, 0)
        case .leakyRelu(let a): return x >= 0 ? x : a * x
        case .hardSwish: return x * min(max(x / 6 + 0.5, 0), 1)
        case .hardSigmoid(let a, let b): return min(max(a * x + b, 0), 1)
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .tanh: return Foundation.tanh(x)
        case .erf: return Foundation.erf(x)
        case .gelu: return 0.5 * x * (1 + Foundation.erf(x * Self.invSqrt2))
        case .geluTanh: return 0.5 * x * (1 + Foundation.tanh(Self.geluC * (x + 0.044715 * x * x * x)))
        case .clip(let lo, let hi): return min(max(x, lo), hi)
        }
    }

    /// dy/dx at input x with output y. At the kinks (ReLU at 0, the clamps' ends) the choice
    /// matches PyTorch's: the gradient of max(x, 0) at 0 is 0, HardSwish's at ±3 follows its
    /// middle piece at −3 and the identity at 3, a clamp passes gradient at its bounds.
    func derivative(_ x: Float, _ y: Float) -> Float {
        switch self {
        case .identity: return 1
        case .relu: return x > 0 ? 1 : 0
        case .leakyRelu(let a): return x > 0 ? 1 : a
        case .hardSwish: return x < -3 ? 0 : x > 3 ? 1 : x / 3 + 0.5
        case .hardSigmoid(let a, let b): let t = a * x + b; return t > 0 && t < 1 ? a : 0
        case .sigmoid: return y * (1 - y)
        case .tanh: return 1 - y * y
        case .erf: return Self.twoOverSqrtPi * Foundation.exp(-x * x)
        case .gelu:
            let cdf = 0.5 * (1 + Foundation.erf(x * Self.invSqrt2))
            return cdf + x * Foundation.exp(-0.5 * x * x) / Self.sqrt2Pi
        case .geluTanh:
            let inner = Self.geluC * (x + 0.044715 * x * x * x)
            let t = Foundation.tanh(inner)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * Self.geluC * (1 + 3 * 0.044715 * x * x)
        case .clip(let lo, let hi): return x >= lo && x <= hi ? 1 : 0
        }
    }

    static let geluC: Float = (2 / Float.pi).squareRoot()
    static let invSqrt2: Float = 1 / Float(2).squareRoot()
    static let sqrt2Pi: Float = (2 * Float.pi).squareRoot()
    static let twoOverSqrtPi: Float = 2 / Float.pi.squareRoot()
}

final class UnaryStep: DifferentiableStep {
    let label: String
    let kind: UnaryKind
    let context: KernelContext
    private var saved: (x: FloatTensor, y: FloatTensor)?

    init(label: String, kind: UnaryKind, context: KernelContext) {
        self.label = label
        self.kind = kind
        self.context = context
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        if kind == .identity { saved = (x, x); return [x] }
        var y = x
        let kind = kind
        y.scalars.withUnsafeMutableBufferPointer { yp in
            let p = yp.baseAddress!
            // The piecewise-linear kinds get their own loops (the switch hoisted out, so they
            // vectorise); the transcendental ones share one.
            @inline(__always) func map(_ f: (Float) -> Float) {
                Self.chunked(yp.count, context) { range in for i in range { p[i] = f(p[i]) } }
            }
            switch kind {
            case .relu: map { max($0, 0) }
            case .leakyRelu(let a): map { $0 >= 0 ? $0 : a * $0 }
            case .hardSwish: map { $0 * min(max($0 / 6 + 0.5, 0), 1) }
            case .hardSigmoid(let a, let b): map { min(max(a * $0 + b, 0), 1) }
            case .clip(let lo, let hi): map { min(max($0, lo), hi) }
            default: map { kind.value($0) }
            }
        }
        saved = (x, y)
        return [y]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard wanted[0], let dy = outputGradients[0] else { return grads }
        guard let saved else { throw .node(label, "backward before forward") }
        var dx = dy
        let kind = kind
        if kind != .identity {
            saved.x.scalars.withUnsafeBufferPointer { xp in
                saved.y.scalars.withUnsafeBufferPointer { yp in
                    dx.scalars.withUnsafeMutableBufferPointer { dp in
                        let x = xp.baseAddress!, y = yp.baseAddress!, d = dp.baseAddress!
                        @inline(__always) func scale(_ f: (Float, Float) -> Float) {
                            Self.chunked(dp.count, context) { range in for i in range { d[i] *= f(x[i], y[i]) } }
                        }
                        switch kind {
                        case .relu: scale { x, _ in x > 0 ? 1 : 0 }
                        case .leakyRelu(let a): scale { x, _ in x > 0 ? 1 : a }
                        case .hardSwish: scale { x, _ in x < -3 ? 0 : x > 3 ? 1 : x / 3 + 0.5 }
                        case .clip(let lo, let hi): scale { x, _ in x >= lo && x <= hi ? 1 : 0 }
                        case .sigmoid: scale { _, y in y * (1 - y) }
                        case .tanh: scale { _, y in 1 - y * y }
                        default: scale { kind.derivative($0, $1) }
                        }
                    }
                }
            }
        }
        grads[0] = dx
        return grads
    }

    func release() { saved = nil }

    /// Splits elementwise work over the pool when it is large enough to pay for the wake-up.
    static func chunked(_ count: Int, _ context: KernelContext, _ body: (Range<Int>) -> Void) {
        let chunk = 1 << 14
        if count < 2 * chunk { body(0..<count); return }
        let pieces = (count + chunk - 1) / chunk
        context.pool.parallelFor(pieces) { range in
            body((range.lowerBound * chunk)..<min(count, range.upperBound * chunk))
        }
    }
}
