import Foundation
import SegGraph
import SegTensor

// Reduce* ops. Axes are an attribute until ReduceSum-13 / the others' 18, then an optional
// int64 input; no axes means every axis, unless `noop_with_empty_axes` (then nothing is
// reduced, but the element-wise part still applies: ReduceSumSquare squares, like ORT).
// Floats accumulate in Double, and so do integers (see `ReduceIntegers`).

extension ElementwiseOperators {
    enum Reduction: Sendable {
        case sum, mean, prod, max, min, l1, l2, sumSquare, logSum, logSumExp
    }

    static let reductions: [OperatorDefinition] = [
        reduce("ReduceSum", .sum, axesInputFrom: 13),
        reduce("ReduceMean", .mean, axesInputFrom: 18),
        reduce("ReduceProd", .prod, axesInputFrom: 18),
        reduce("ReduceMax", .max, axesInputFrom: 18),
        reduce("ReduceMin", .min, axesInputFrom: 18),
        reduce("ReduceL1", .l1, axesInputFrom: 18),
        reduce("ReduceL2", .l2, axesInputFrom: 18),
        reduce("ReduceSumSquare", .sumSquare, axesInputFrom: 18),
        reduce("ReduceLogSum", .logSum, axesInputFrom: 18),
        reduce("ReduceLogSumExp", .logSumExp, axesInputFrom: 18),
    ].flatMap { $0 }

    /// Which axes a node reduces over, and the output dims. `axes` is the attribute (old form)
    /// or the input's values (new form); nil when absent.
    struct ReductionPlan {
        var reduced: [Bool]
        var keepdims: Bool

        init(_ ctx: NodeContext, rank: Int, axes: [Int]?, axesIsInput: Bool) throws {
            keepdims = try ctx.int("keepdims", default: 1) != 0
            let noop = try axesIsInput && ctx.int("noop_with_empty_axes", default: 0) != 0
            let name = axesIsInput ? "axes (input 1)" : "axes"
            guard let axes, !axes.isEmpty else {
                reduced = [Bool](repeating: !noop, count: rank)
                return
            }
            guard rank > 0 else { throw OpError.attribute(name, "a scalar has no axes to reduce, got \(axes)") }
            reduced = [Bool](repeating: false, count: rank)
            for a in axes {
                let axis = try ctx.axis(a, rank: rank, name: name)
                guard !reduced[axis] else { throw OpError.attribute(name, "axis \(a) is listed twice in \(axes)") }
                reduced[axis] = true
            }
        }

        /// Input dims with every reduced axis set to 1.
        func kept<D>(_ dims: [D], one: D) -> [D] { zip(dims, reduced).map { $1 ? one : $0 } }

        func output<D>(_ dims: [D], one: D) -> [D] {
            keepdims ? kept(dims, one: one) : zip(dims, reduced).filter { !$1 }.map(\.0)
        }
    }

    static func reduce(_ op: String, _ reduction: Reduction, axesInputFrom: Int) -> [OperatorDefinition] {
        let older = OperatorDefinition(op, versions: 1...(axesInputFrom - 1), attributes: ["axes", "keepdims"], infer: { ctx, inputs in
            guard let x = inputs.first ?? nil else { return [nil] }
            guard let dims = x.shape else { return [TensorType(elementType: x.dtype, shape: nil)] }
            let plan = try ReductionPlan(ctx, rank: dims.count, axes: try ctx.ints("axes"), axesIsInput: false)
            return [TensorType(elementType: x.dtype, shape: plan.output(dims, one: .value(1)))]
        }) { ctx, inputs in
            let x = try required(inputs, 0)
            let plan = try ReductionPlan(ctx, rank: x.dims.count, axes: try ctx.ints("axes"), axesIsInput: false)
            return [try reduceTensor(reduction, x, plan, op: op)]
        }
        let newer = OperatorDefinition(op, versions: axesInputFrom...Int.max, attributes: ["keepdims", "noop_with_empty_axes"], infer: { ctx, inputs in
            guard let x = inputs.first ?? nil else { return [nil] }
            guard let dims = x.shape else { return [TensorType(elementType: x.dtype, shape: nil)] }
            var axes: [Int]? = nil
            if inputs.count > 1, let given = inputs[1] {
                guard let constant = given.constant else {
                    // Axes known only at run time: the rank survives only with keepdims.
                    let keep = try ctx.int("keepdims", default: 1) != 0
                    return [TensorType(elementType: x.dtype, shape: keep ? dims.map { _ in .unknown } : nil)]
                }
                axes = try axesValues(constant)
            }
            let plan = try ReductionPlan(ctx, rank: dims.count, axes: axes, axesIsInput: true)
            return [TensorType(elementType: x.dtype, shape: plan.output(dims, one: .value(1)))]
        }) { ctx, inputs in
            let x = try required(inputs, 0)
            let axes = try optional(inputs, 1).map { try axesValues($0) }
            let plan = try ReductionPlan(ctx, rank: x.dims.count, axes: axes, axesIsInput: true)
            return [try reduceTensor(reduction, x, plan, op: op)]
        }
        return [older, newer]
    }

    static func axesValues(_ t: Tensor) throws -> [Int] {
        guard t.dtype == .i64, t.dims.count <= 1 else { throw OpError.input(1, "axes must be a 1-D int64 tensor, got \(t.dtype)\(t.shape)") }
        return try t.scalars(as: Int64.self).map { Int($0) }
    }

    static func reduceTensor(_ reduction: Reduction, _ x: Tensor, _ plan: ReductionPlan, op: String) throws -> Tensor {
        let kept = plan.kept(x.dims, one: 1)
        // For every input element, the output element it folds into.
        let target = Broadcast.indexMap(from: kept, to: x.dims)
        let outShape = try Shape(plan.output(x.dims, one: 1))
        let count = zip(x.dims, plan.reduced).filter(\.1).map(\.0).reduce(1, *)
        if x.dtype.isFloatingPoint {
            let out = reduceDoubles(reduction, try doubles(x, input: 0, op: op), into: outShape.elementCount, target: target, count: count)
            return try rounded(out, shape: outShape, to: x.dtype)
        }
        if x.dtype == .bool, reduction == .max || reduction == .min {
            // ReduceMax/Min-20 on bool: any / all (the empty set gives false / true).
            var out = [Bool](repeating: reduction == .min, count: outShape.elementCount)
            for (i, v) in try x.scalars(as: Bool.self).enumerated() {
                out[target[i]] = reduction == .max ? out[target[i]] || v : out[target[i]] && v
            }
            return try Tensor(shape: outShape, scalars: out)
        }
        let visitor = ReduceIntegers(x: x, reduction: reduction, target: target, shape: outShape, count: count)
        guard let out = try visitInteger(x.dtype, visitor) else { throw OpError.input(0, "\(op) does not take \(x.dtype)") }
        return out
    }

    static func reduceDoubles(_ r: Reduction, _ v: [Double], into size: Int, target: [Int], count: Int) -> [Double] {
        let initial: Double = switch r {
        case .prod: 1
        case .max: -.infinity
        case .min: .infinity
        default: 0
        }
        var acc = [Double](repeating: initial, count: size)
        // LogSumExp subtracts each group's max first, so large inputs do not overflow.
        var peak = [Double](repeating: -.infinity, count: r == .logSumExp ? size : 0)
        if r == .logSumExp { for (i, x) in v.enumerated() where x > peak[target[i]] { peak[target[i]] = x } }
        for (i, x) in v.enumerated() {
            let t = target[i]
            switch r {
            case .sum, .mean, .logSum: acc[t] += x
            case .prod: acc[t] *= x
            // NaN is skipped by the comparison, as in ORT's ReduceMax/Min.
            case .max: if x > acc[t] { acc[t] = x }
            case .min: if x < acc[t] { acc[t] = x }
            case .l1: acc[t] += abs(x)
            case .l2, .sumSquare: acc[t] += x * x
            case .logSumExp: acc[t] += peak[t].isInfinite ? exp(x) : exp(x - peak[t])
            }
        }
        switch r {
        case .mean: return acc.map { $0 / Double(count) }
        case .l2: return acc.map { $0.squareRoot() }
        case .logSum: return acc.map { log($0) }
        case .logSumExp: return acc.indices.map { peak[$0].isInfinite ? log(acc[$0]) : log(acc[$0]) + peak[$0] }
        default: return acc
        }
    }

    /// Integer reductions as ORT's CPU kernels compute them: Max and Min exactly in the type;
    /// everything else accumulated in Double and converted back saturating (so an int64 sum
    /// loses digits beyond 2^53 and an int32 sum that overflows clamps to Int32.max, as in ORT).
    struct ReduceIntegers: IntegerVisitor {
        let x: Tensor, reduction: Reduction, target: [Int], shape: Shape, count: Int
        func visit<T: FixedWidthInteger & TensorScalar>(_: T.Type) throws -> Tensor {
            let v = try x.scalars(as: T.self)
            if reduction == .max || reduction == .min {
                var acc = [T](repeating: reduction == .max ? .min : .max, count: shape.elementCount)
                for (i, e) in v.enumerated() {
                    acc[target[i]] = reduction == .max ? Swift.max(acc[target[i]], e) : Swift.min(acc[target[i]], e)
                }
                return try Tensor(shape: shape, scalars: acc)
            }
            if reduction == .mean && count == 0 { throw OpError.input(0, "ReduceMean of an empty integer set") }
            let d = reduceDoubles(reduction, v.map { Double($0) }, into: shape.elementCount, target: target, count: count)
            return try Tensor(shape: shape, scalars: d.map { (r: Double) -> T in
                if r.isNaN { return 0 }
                if r >= Double(T.max) { return .max }
                if r <= Double(T.min) { return .min }
                return T(r.rounded(.towardZero))
            })
        }
    }
}
