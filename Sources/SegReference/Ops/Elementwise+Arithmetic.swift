import Foundation
import SegGraph
import SegTensor

// Binary and variadic arithmetic with NumPy broadcasting (opset 7 on; the opset 1–6 form with
// `broadcast`/`axis` attributes is not implemented and such nodes are refused as unsupported).

extension ElementwiseOperators {
    /// One arithmetic rule, on Double for every float dtype and wrapping two's complement on
    /// integers (like ORT's C++ kernels).
    enum Arithmetic: Sendable {
        case add, sub, mul, div, min, max
        /// fmod: C's remainder (sign of the dividend); otherwise Python's (sign of the divisor).
        case mod(fmod: Bool)

        func apply(_ a: Double, _ b: Double) -> Double {
            switch self {
            case .add: return a + b
            case .sub: return a - b
            case .mul: return a * b
            case .div: return a / b
            // NaN wins, as in numpy and ORT.
            case .min: return a.isNaN || b.isNaN ? .nan : Swift.min(a, b)
            case .max: return a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
            case .mod(fmod: true): return fmod(a, b)
            case .mod(fmod: false):
                let r = fmod(a, b)
                if r == 0 { return Double(signOf: b, magnitudeOf: 0) }
                return (r < 0) != (b < 0) ? r + b : r
            }
        }

        func apply<T: FixedWidthInteger>(_ a: T, _ b: T) throws -> T {
            switch self {
            case .add: return a &+ b
            case .sub: return a &- b
            case .mul: return a &* b
            case .min: return Swift.min(a, b)
            case .max: return Swift.max(a, b)
            case .div:
                guard b != 0 else { throw OpError.input(1, "integer division by zero") }
                // Truncates toward zero; T.min / −1 wraps to T.min instead of trapping.
                return a.dividedReportingOverflow(by: b).partialValue
            case .mod(let fmod):
                guard b != 0 else { throw OpError.input(1, "integer Mod by zero") }
                let r = a.remainderReportingOverflow(dividingBy: b).partialValue
                return !fmod && r != 0 && (r < 0) != (b < 0) ? r &+ b : r
            }
        }
    }

    /// Folds `rule` over broadcast inputs of one dtype, left to right.
    static func combine(_ tensors: [Tensor], _ rule: Arithmetic, op: String, floatOnly: Bool = false) throws -> Tensor {
        guard let first = tensors.first else { throw OpError.input(0, "\(op) needs at least one input") }
        for (k, t) in tensors.enumerated() where t.dtype != first.dtype {
            throw OpError.input(k, "\(op) inputs must share one dtype: input 0 is \(first.dtype), input \(k) is \(t.dtype)")
        }
        if tensors.count == 2, let walked = try combineWalking(tensors[0], tensors[1], rule) { return walked }
        if first.dtype.isFloatingPoint, let direct = try combineWithoutMaps(tensors, rule, op: op) { return direct }
        let (shape, maps) = try broadcastMaps(tensors)
        if first.dtype.isFloatingPoint {
            let values = try tensors.enumerated().map { try doubles($1, input: $0, op: op) }
            var acc = maps[0].map { values[0][$0] }
            for k in 1..<tensors.count {
                for i in acc.indices { acc[i] = rule.apply(acc[i], values[k][maps[k][i]]) }
            }
            return try rounded(acc, shape: shape, to: first.dtype)
        }
        guard !floatOnly, let out = try visitInteger(first.dtype, CombineIntegers(tensors: tensors, maps: maps, shape: shape, rule: rule)) else {
            throw OpError.input(0, "\(op) does not take \(first.dtype)")
        }
        return out
    }

    /// Two operands of f32, f64 or a 32/64-bit integer dtype, by `BroadcastWalk`: the same
    /// values as the index-map path (floats computed in Double and rounded once, integers
    /// wrapping), without the maps. Nil for the other dtypes.
    static func combineWalking(_ a: Tensor, _ b: Tensor, _ rule: Arithmetic) throws -> Tensor? {
        let dims = try Broadcast.shape([a.dims, b.dims])
        let walk = BroadcastWalk([a.dims, b.dims], output: dims)
        func floats<T: TensorScalar & BinaryFloatingPoint>(_: T.Type) throws -> Tensor {
            try a.withUnsafeBufferPointer(as: T.self) { x in
                try b.withUnsafeBufferPointer(as: T.self) { y in
                    try Tensor.filled(T.self, dims: dims) { z in
                        guard let x = x.baseAddress, let y = y.baseAddress else { return }
                        walk.binary(x, y, into: z) { T(rule.apply(Double($0), Double($1))) }
                    }
                }
            }
        }
        func integers<T: TensorScalar & FixedWidthInteger>(_: T.Type) throws -> Tensor {
            try a.withUnsafeBufferPointer(as: T.self) { x in
                try b.withUnsafeBufferPointer(as: T.self) { y in
                    // Every element of b is read when the output is not empty, so a zero in it
                    // is a zero divisor: Div and Mod throw the per-element path's error here
                    // (the other rules return a value and go on).
                    if walk.count > 0, y.contains(0) { _ = try rule.apply(T(1), T(0)) }
                    return try Tensor.filled(T.self, dims: dims) { z in
                        guard let x = x.baseAddress, let y = y.baseAddress else { return }
                        walk.binary(x, y, into: z) { (try? rule.apply($0, $1)) ?? 0 }
                    }
                }
            }
        }
        guard a.dtype == b.dtype else { return nil }
        switch a.dtype {
        case .f32: return try floats(Float.self)
        case .f64: return try floats(Double.self)
        case .i32: return try integers(Int32.self)
        case .i64: return try integers(Int64.self)
        default: return nil
        }
    }

    /// The same rule without index maps when every operand has the output's shape or is one
    /// value (a scalar, a Sub of 0.5): the values in order, or the one value repeated, are what
    /// the maps would read. Nil for any other broadcast.
    static func combineWithoutMaps(_ tensors: [Tensor], _ rule: Arithmetic, op: String) throws -> Tensor? {
        let dims = try Broadcast.shape(tensors.map(\.dims))
        guard tensors.allSatisfy({ $0.dims == dims || $0.elementCount == 1 }), let full = tensors.first(where: { $0.dims == dims }) else {
            return nil
        }
        let values = try tensors.enumerated().map { try doubles($1, input: $0, op: op) }
        let count = full.elementCount
        @inline(__always) func value(_ k: Int, _ i: Int) -> Double { values[k].count == 1 ? values[k][0] : values[k][i] }
        var acc = (0..<count).map { value(0, $0) }
        for k in 1..<tensors.count {
            for i in 0..<count { acc[i] = rule.apply(acc[i], value(k, i)) }
        }
        return try rounded(acc, shape: try Shape(dims), to: tensors[0].dtype)
    }

    struct CombineIntegers: IntegerVisitor {
        let tensors: [Tensor], maps: [[Int]], shape: Shape, rule: Arithmetic
        func visit<T: FixedWidthInteger & TensorScalar>(_: T.Type) throws -> Tensor {
            let values = try tensors.map { try $0.scalars(as: T.self) }
            var acc = maps[0].map { values[0][$0] }
            for k in 1..<tensors.count {
                for i in acc.indices { acc[i] = try rule.apply(acc[i], values[k][maps[k][i]]) }
            }
            return try Tensor(shape: shape, scalars: acc)
        }
    }

    static func binary(_ op: String, _ rule: Arithmetic, versions: ClosedRange<Int> = 7...Int.max) -> OperatorDefinition {
        OperatorDefinition(op, versions: versions, infer: broadcastInfer()) { _, inputs in
            [try combine([try required(inputs, 0), try required(inputs, 1)], rule, op: op)]
        }
    }

    /// Min, Max (all numeric types from 12), Sum, Mean (floats): any number of inputs, broadcast.
    static func variadic(_ op: String, _ rule: Arithmetic, versions: ClosedRange<Int>, floatOnly: Bool, mean: Bool = false) -> OperatorDefinition {
        OperatorDefinition(op, versions: versions, infer: broadcastInfer()) { _, inputs in
            let tensors = try inputs.indices.map { try required(inputs, $0) }
            let total = try combine(tensors, rule, op: op, floatOnly: floatOnly)
            guard mean else { return [total] }
            let n = Double(tensors.count)
            return [try mapFloat(total, op: op) { $0 / n }]
        }
    }

    static let arithmetic: [OperatorDefinition] = [
        binary("Add", .add), binary("Sub", .sub), binary("Mul", .mul),
        // Div (7, 13, 14): integers truncate toward zero; dividing an integer by zero is an error.
        binary("Div", .div),
        variadic("Min", .min, versions: 8...Int.max, floatOnly: false),
        variadic("Max", .max, versions: 8...Int.max, floatOnly: false),
        variadic("Sum", .add, versions: 8...Int.max, floatOnly: true),
        // Mean: the sum rounded to the dtype, then divided, like ORT's accumulate-then-scale.
        variadic("Mean", .add, versions: 8...Int.max, floatOnly: true, mean: true),
        mod,
        pow,
    ]

    /// Mod (10, 13, 28): `fmod` 0 is Python's %, 1 is C's fmod; both for ints and floats.
    static let mod = OperatorDefinition("Mod", versions: 10...Int.max, attributes: ["fmod"], check: { ctx in
        let f = try ctx.int("fmod", default: 0)
        guard f == 0 || f == 1 else { throw OpError.attribute("fmod", "must be 0 or 1, got \(f)") }
    }, infer: broadcastInfer()) { ctx, inputs in
        let fmod = try ctx.int("fmod", default: 0) == 1
        return [try combine([try required(inputs, 0), try required(inputs, 1)], .mod(fmod: fmod), op: "Mod")]
    }

    /// Pow (7, 12, 13, 15): the exponent may have another numeric dtype; the result has the
    /// base's. Like ORT, integer bases go through `pow` on Double and convert back with the
    /// C cast rule (so 2^-1 is 0 and an overflowing power is the type's "indefinite" value).
    static let pow = OperatorDefinition("Pow", versions: 7...Int.max, infer: broadcastInfer()) { _, inputs in
        let base = try required(inputs, 0), exponent = try required(inputs, 1)
        guard exponent.dtype != .bool else { throw OpError.input(1, "Pow does not take a bool exponent") }
        let (shape, maps) = try broadcastMaps([base, exponent])
        let e = try exponent.converted(to: .f64).scalars(as: Double.self)
        if base.dtype.isFloatingPoint {
            let b = try doubles(base, input: 0, op: "Pow")
            let out = maps[0].indices.map { Foundation.pow(b[maps[0][$0]], e[maps[1][$0]]) }
            return [try rounded(out, shape: shape, to: base.dtype)]
        }
        guard let out = try visitInteger(base.dtype, IntegerPow(base: base, exponent: e, maps: maps, shape: shape)) else {
            throw OpError.input(0, "Pow does not take a \(base.dtype) base")
        }
        return [out]
    }

    struct IntegerPow: IntegerVisitor {
        let base: Tensor, exponent: [Double], maps: [[Int]], shape: Shape
        func visit<T: FixedWidthInteger & TensorScalar>(_: T.Type) throws -> Tensor {
            let b = try base.scalars(as: T.self)
            let out: [T] = maps[0].indices.map { i in
                integer(truncating: Foundation.pow(Double(b[maps[0][i]]), exponent[maps[1][i]]))
            }
            return try Tensor(shape: shape, scalars: out)
        }
    }
}
