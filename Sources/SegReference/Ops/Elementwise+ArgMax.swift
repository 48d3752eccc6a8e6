import SegGraph
import SegTensor

// ArgMax / ArgMin (1, 11, 12, 13): int64 indices along one axis; the first extreme wins unless
// `select_last_index` (12 on). Comparisons skip NaN, as ORT does.

extension ElementwiseOperators {
    static let argExtremes: [OperatorDefinition] = [argExtreme("ArgMax", max: true), argExtreme("ArgMin", max: false)]

    static func argExtreme(_ op: String, max: Bool) -> OperatorDefinition {
        OperatorDefinition(op, attributes: ["axis", "keepdims", "select_last_index"], check: { ctx in
            if ctx.opset < 12 && ctx.has("select_last_index") {
                throw OpError.attribute("select_last_index", "exists from opset 12; this model imports opset \(ctx.opset)")
            }
        }, infer: { ctx, inputs in
            guard let dims = inputs.first??.shape else { return [TensorType(elementType: .i64, shape: nil)] }
            let axis = try ctx.axis(try ctx.int("axis", default: 0), rank: dims.count)
            let keep = try ctx.int("keepdims", default: 1) != 0
            var out = dims
            if dims.isEmpty { return [TensorType(elementType: .i64, shape: [])] }
            if keep { out[axis] = .value(1) } else { out.remove(at: axis) }
            return [TensorType(elementType: .i64, shape: out)]
        }) { ctx, inputs in
            let x = try required(inputs, 0)
            let dims = x.dims.isEmpty ? [1] : x.dims
            let axis = try ctx.axis(try ctx.int("axis", default: 0), rank: dims.count)
            let keep = try ctx.int("keepdims", default: 1) != 0
            let last = try ctx.int("select_last_index", default: 0) != 0
            let layout = ArgLayout(outer: dims[..<axis].reduce(1, *), n: dims[axis], inner: dims[(axis + 1)...].reduce(1, *),
                                   max: max, last: last)
            guard layout.n > 0 || layout.outer * layout.inner == 0 else {
                throw OpError.input(0, "\(op) over axis \(axis) of length 0")
            }
            var outDims = dims
            if keep { outDims[axis] = 1 } else { outDims.remove(at: axis) }
            if x.dims.isEmpty { outDims = [] }
            let indices: [Int64]
            if x.dtype.isFloatingPoint {
                indices = layout.indices(try doubles(x, input: 0, op: op))
            } else if let found = try visitInteger(x.dtype, ArgIntegers(x: x, layout: layout)) {
                indices = found
            } else {
                throw OpError.input(0, "\(op) does not take \(x.dtype)")
            }
            return [try Tensor(shape: try Shape(outDims), scalars: indices)]
        }
    }

    /// The input as [outer, n, inner] around the reduced axis.
    struct ArgLayout {
        let outer: Int, n: Int, inner: Int, max: Bool, last: Bool

        func indices<T: Comparable>(_ v: [T]) -> [Int64] {
            var out = [Int64](repeating: 0, count: outer * inner)
            for o in 0..<outer {
                for j in 0..<inner {
                    let base = o * n * inner + j
                    var best = 0
                    for k in stride(from: 1, to: n, by: 1) {
                        let c = v[base + k * inner], b = v[base + best * inner]
                        let better = max ? (last ? c >= b : c > b) : (last ? c <= b : c < b)
                        if better { best = k }
                    }
                    out[o * inner + j] = Int64(best)
                }
            }
            return out
        }
    }

    struct ArgIntegers: IntegerVisitor {
        let x: Tensor, layout: ArgLayout
        func visit<T: FixedWidthInteger & TensorScalar>(_: T.Type) throws -> [Int64] {
            layout.indices(try x.scalars(as: T.self))
        }
    }
}
