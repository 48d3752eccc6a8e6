import Foundation
import SegGraph
import SegTensor

// Activations: float-only (except PRelu), computed in Double and rounded once per element.

extension ElementwiseOperators {
    /// A float-only op applying `make(ctx)` to every element; type and shape follow the input.
    /// `make` reads the attributes, so running it in `check` validates them at load.
    static func floatUnary(_ op: String, versions: ClosedRange<Int> = 1...Int.max, attributes: Set<String> = [],
                           _ make: @escaping @Sendable (NodeContext) throws -> (Double) -> Double) -> OperatorDefinition {
        OperatorDefinition(op, versions: versions, attributes: attributes, check: { ctx in _ = try make(ctx) },
                           infer: sameAsInput(0)) { ctx, inputs in
            [try mapFloat(try required(inputs, 0), op: op, try make(ctx))]
        }
    }

    static func attribute(_ ctx: NodeContext, _ name: String, default value: Float) throws -> Double {
        Double(try ctx.float(name, default: value))
    }

    static let activations: [OperatorDefinition] = [
        // LeakyRelu (6, 16): x < 0 ? alpha·x : x.
        floatUnary("LeakyRelu", versions: 6...Int.max, attributes: ["alpha"]) { ctx in
            let alpha = try attribute(ctx, "alpha", default: 0.01)
            return { $0 < 0 ? alpha * $0 : $0 }
        },
        // Elu (6, 22): x < 0 ? alpha·(eˣ − 1) : x.
        floatUnary("Elu", versions: 6...Int.max, attributes: ["alpha"]) { ctx in
            let alpha = try attribute(ctx, "alpha", default: 1)
            return { $0 < 0 ? alpha * expm1($0) : $0 }
        },
        // Selu (6, 22): gamma·(x > 0 ? x : alpha·(eˣ − 1)); defaults are the float32 constants.
        floatUnary("Selu", versions: 6...Int.max, attributes: ["alpha", "gamma"]) { ctx in
            let alpha = try attribute(ctx, "alpha", default: 1.67326319217681884765625)
            let gamma = try attribute(ctx, "gamma", default: 1.05070102214813232421875)
            return { gamma * ($0 > 0 ? $0 : alpha * expm1($0)) }
        },
        // Celu (12, 28): max(0, x) + min(0, alpha·(e^(x/alpha) − 1)).
        floatUnary("Celu", versions: 12...Int.max, attributes: ["alpha"]) { ctx in
            let alpha = try attribute(ctx, "alpha", default: 1)
            return { max(0, $0) + min(0, alpha * expm1($0 / alpha)) }
        },
        // ThresholdedRelu (10, 22): x > alpha ? x : 0.
        floatUnary("ThresholdedRelu", versions: 10...Int.max, attributes: ["alpha"]) { ctx in
            let alpha = try attribute(ctx, "alpha", default: 1)
            return { $0 > alpha ? $0 : 0 }
        },
        // Softplus (1, 22): ln(1 + eˣ), written so large |x| neither overflows nor loses digits.
        floatUnary("Softplus") { _ in { $0 > 0 ? $0 + log1p(exp(-$0)) : log1p(exp($0)) } },
        // Softsign (1, 22): x / (1 + |x|).
        floatUnary("Softsign") { _ in { $0 / (1 + abs($0)) } },
        // HardSigmoid (6, 22): clamp(alpha·x + beta, 0, 1).
        floatUnary("HardSigmoid", versions: 6...Int.max, attributes: ["alpha", "beta"]) { ctx in
            let alpha = try attribute(ctx, "alpha", default: 0.2)
            let beta = try attribute(ctx, "beta", default: 0.5)
            return { max(0, min(1, alpha * $0 + beta)) }
        },
        // HardSwish (14, 22): x · clamp(x/6 + 1/2, 0, 1).
        floatUnary("HardSwish", versions: 14...Int.max) { _ in { $0 * max(0, min(1, $0 / 6 + 0.5)) } },
        // Sigmoid (6, 13): 1 / (1 + e⁻ˣ).
        floatUnary("Sigmoid", versions: 6...Int.max) { _ in { 1 / (1 + exp(-$0)) } },
        floatUnary("Tanh", versions: 6...Int.max) { _ in { tanh($0) } },
        floatUnary("Erf", versions: 9...Int.max) { _ in { erf($0) } },
        // Mish (18, 22): x · tanh(softplus(x)).
        floatUnary("Mish", versions: 18...Int.max) { _ in { $0 * tanh($0 > 0 ? $0 + log1p(exp(-$0)) : log1p(exp($0))) } },
        // Gelu (20): exact with erf, or the tanh approximation.
        floatUnary("Gelu", versions: 20...Int.max, attributes: ["approximate"]) { ctx in
            switch try ctx.string("approximate", default: "none") {
            case "none":
                return { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
            case "tanh":
                let k = (2 / Double.pi).squareRoot()
                return { 0.5 * $0 * (1 + tanh(k * ($0 + 0.044715 * $0 * $0 * $0))) }
            case let other:
                throw OpError.attribute("approximate", "'\(other)' is not a Gelu approximation (expected 'none' or 'tanh')")
            }
        },
        prelu,
    ]

    /// PRelu (7, 9, 16): x < 0 ? slope·x : x, slope broadcast to x's shape (unidirectionally:
    /// the output always has x's shape). Floats, and signed integers from opset 16.
    static let prelu = OperatorDefinition("PRelu", versions: 7...Int.max, infer: sameAsInput(0)) { _, inputs in
        let x = try required(inputs, 0), slope = try required(inputs, 1)
        let (shape, maps) = try broadcastMaps([x, slope])
        guard shape.dims == x.dims else {
            throw OpError.input(1, "slope of shape \(slope.shape) does not broadcast to the input's shape \(x.shape)")
        }
        guard slope.dtype == x.dtype else { throw OpError.input(1, "slope is \(slope.dtype), input is \(x.dtype)") }
        if x.dtype.isFloatingPoint {
            let v = try doubles(x, input: 0, op: "PRelu"), s = try doubles(slope, input: 1, op: "PRelu")
            let out = v.indices.map { v[$0] < 0 ? v[$0] * s[maps[1][$0]] : v[$0] }
            return [try rounded(out, shape: shape, to: x.dtype)]
        }
        guard let out = try visitInteger(x.dtype, IntegerPRelu(x: x, slope: slope, slopeMap: maps[1])) else {
            throw OpError.input(0, "PRelu does not take \(x.dtype)")
        }
        return [out]
    }

    struct IntegerPRelu: IntegerVisitor {
        let x: Tensor, slope: Tensor, slopeMap: [Int]
        func visit<T: FixedWidthInteger & TensorScalar>(_: T.Type) throws -> Tensor {
            let v = try x.scalars(as: T.self), s = try slope.scalars(as: T.self)
            return try Tensor(shape: x.shape, scalars: v.indices.map { v[$0] < 0 ? v[$0] &* s[slopeMap[$0]] : v[$0] })
        }
    }
}
