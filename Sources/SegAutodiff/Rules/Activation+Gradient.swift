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

    /// `value` over a range in place, with the common kinds' loops written out so they
    /// vectorise (a switch per element does not).
    func apply(_ p: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        switch self {
        case .identity: break
        case .relu: for i in range { p[i] = max(p[i], 0) }
        case .hardSwish: for i in range { let x = p[i]; p[i] = x * min(max(x * (1 / 6) + 0.5, 0), 1) }
        case .hardSigmoid(let a, let b): for i in range { p[i] = min(max(a * p[i] + b, 0), 1) }
        case .clip(let lo, let hi): for i in range { p[i] = min(max(p[i], lo), hi) }
        case .leakyRelu(let a): for i in range { let x = p[i]; p[i] = x >= 0 ? x : a * x }
        default: for i in range { p[i] = value(p[i]) }
        }
    }

    /// d[i] *= dy/dx at (x[i], y[i]) over a range, the common kinds written out.
    func multiplyByDerivative(_ d: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>, _ range: Range<Int>) {
        switch self {
        case .identity: break
        case .relu:
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let g = Self.load(d + i)
                Self.store(g.replacing(with: 0, where: Self.load(x + i) .<= 0), d + i)
                i += 8
            }
            while i < range.upperBound { d[i] = x[i] > 0 ? d[i] : 0; i += 1 }
        case .hardSwish:
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let v = Self.load(x + i)
                let slope = (v * (1 / 3) + 0.5).replacing(with: 0, where: v .< -3).replacing(with: 1, where: v .> 3)
                Self.store(Self.load(d + i) * slope, d + i)
                i += 8
            }
            while i < range.upperBound {
                let v = x[i]
                d[i] *= v < -3 ? 0 : (v > 3 ? 1 : v * (1 / 3) + 0.5)
                i += 1
            }
        case .hardSigmoid(let a, let b):
            for i in range { let t = a * x[i] + b; d[i] = t > 0 && t < 1 ? d[i] * a : 0 }
        case .sigmoid: for i in range { d[i] *= y[i] * (1 - y[i]) }
        case .tanh: for i in range { d[i] *= 1 - y[i] * y[i] }
        case .clip(let lo, let hi): for i in range { d[i] = x[i] >= lo && x[i] <= hi ? d[i] : 0 }
        default: for i in range { d[i] *= derivative(x[i], y[i]) }
        }
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
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
            Self.chunked(yp.count, context) { range in kind.apply(p, range) }
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
                        Self.chunked(dp.count, context) { range in kind.multiplyByDerivative(d, x: x, y: y, range) }
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
