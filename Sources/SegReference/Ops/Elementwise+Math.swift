import Foundation
import SegGraph
import SegTensor

// Unary math: float functions, the sign-related ops that also take integers, NaN/inf tests.

extension ElementwiseOperators {
    static let math: [OperatorDefinition] = [
        floatUnary("Sqrt", versions: 6...Int.max) { _ in { $0.squareRoot() } },
        floatUnary("Exp", versions: 6...Int.max) { _ in { exp($0) } },
        floatUnary("Log", versions: 6...Int.max) { _ in { log($0) } },
        floatUnary("Reciprocal", versions: 6...Int.max) { _ in { 1 / $0 } },
        floatUnary("Floor", versions: 6...Int.max) { _ in { $0.rounded(.down) } },
        floatUnary("Ceil", versions: 6...Int.max) { _ in { $0.rounded(.up) } },
        // Round (11, 22): halves go to the even neighbour, like numpy and ORT.
        floatUnary("Round", versions: 11...Int.max) { _ in { $0.rounded(.toNearestOrEven) } },
        floatUnary("Sin", versions: 7...Int.max) { _ in { sin($0) } },
        floatUnary("Cos", versions: 7...Int.max) { _ in { cos($0) } },
        floatUnary("Tan", versions: 7...Int.max) { _ in { tan($0) } },
        floatUnary("Asin", versions: 7...Int.max) { _ in { asin($0) } },
        floatUnary("Acos", versions: 7...Int.max) { _ in { acos($0) } },
        floatUnary("Atan", versions: 7...Int.max) { _ in { atan($0) } },
        floatUnary("Sinh", versions: 9...Int.max) { _ in { sinh($0) } },
        floatUnary("Cosh", versions: 9...Int.max) { _ in { cosh($0) } },
        floatUnary("Asinh", versions: 9...Int.max) { _ in { asinh($0) } },
        floatUnary("Acosh", versions: 9...Int.max) { _ in { acosh($0) } },
        floatUnary("Atanh", versions: 9...Int.max) { _ in { atanh($0) } },
        numericUnary("Abs", versions: 6...Int.max, .abs) { abs($0) },
        numericUnary("Neg", versions: 6...Int.max, .neg) { -$0 },
        // Sign (9, 13): −1, 0 or 1 (NaN stays NaN).
        numericUnary("Sign", versions: 9...Int.max, .sign) { $0 > 0 ? 1 : $0 < 0 ? -1 : $0 },
        // IsNaN (9, 13, 20) and IsInf (10, 20): bool masks of float inputs.
        OperatorDefinition("IsNaN", versions: 9...Int.max, infer: sameShape(dtype: .bool)) { _, inputs in
            let x = try required(inputs, 0)
            return [try Tensor(shape: x.shape, scalars: try doubles(x, input: 0, op: "IsNaN").map(\.isNaN))]
        },
        OperatorDefinition("IsInf", versions: 10...Int.max, attributes: ["detect_negative", "detect_positive"],
                           infer: sameShape(dtype: .bool)) { ctx, inputs in
            let x = try required(inputs, 0)
            let negative = try ctx.int("detect_negative", default: 1) != 0
            let positive = try ctx.int("detect_positive", default: 1) != 0
            let mask = try doubles(x, input: 0, op: "IsInf").map { $0.isInfinite && ($0 < 0 ? negative : positive) }
            return [try Tensor(shape: x.shape, scalars: mask)]
        },
    ]

    /// What a sign-related op does to integers (wrapping like two's complement C: |Int8.min|
    /// stays Int8.min). Neg is refused for unsigned types, which the spec leaves out.
    enum IntegerUnary { case abs, neg, sign }

    /// An op on floats (`float`, in Double) and integers (`integer`); type follows the input.
    static func numericUnary(_ op: String, versions: ClosedRange<Int>, _ integer: IntegerUnary,
                             _ float: @escaping @Sendable (Double) -> Double) -> OperatorDefinition {
        OperatorDefinition(op, versions: versions, infer: sameAsInput(0)) { _, inputs in
            let x = try required(inputs, 0)
            if x.dtype.isFloatingPoint { return [try mapFloat(x, op: op, float)] }
            guard let out = try visitInteger(x.dtype, MapInteger(x: x, op: integer)), integer != .neg || isSigned(x.dtype) else {
                throw OpError.input(0, "\(op) does not take \(x.dtype)")
            }
            return [out]
        }
    }

    struct MapInteger: IntegerVisitor {
        let x: Tensor, op: IntegerUnary
        func visit<T: FixedWidthInteger & TensorScalar>(_: T.Type) throws -> Tensor {
            let v = try x.scalars(as: T.self)
            let out: [T]
            switch op {
            case .abs: out = v.map { $0 < 0 ? 0 &- $0 : $0 }
            case .neg: out = v.map { 0 &- $0 }
            case .sign: out = v.map { $0 > 0 ? 1 : $0 == 0 ? 0 : 0 &- 1 }
            }
            return try Tensor(shape: x.shape, scalars: out)
        }
    }
}
