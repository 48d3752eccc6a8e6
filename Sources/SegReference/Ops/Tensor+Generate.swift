import SegGraph
import SegTensor

// Ops whose output is computed from values rather than moved: Range, NonZero, Trilu, OneHot.

extension TensorOperators {
    /// Range (11): start, start+delta, ... below (or above, for negative delta) limit.
    /// Like ONNX Runtime, the count is ceil((limit − start) / delta) and each value is the
    /// previous one plus delta (accumulated, not start + i·delta, which differs for floats).
    /// f16 (27) accumulates in f32, or f64 with `stash_type` 11, and rounds each value once.
    static let range = OperatorDefinition(
        "Range", versions: 11...Int.max, attributes: ["stash_type"],
        check: { ctx in
            if ctx.has("stash_type") && ctx.opset < 27 { throw OpError.attribute("stash_type", "exists from opset 27") }
            let stash = try ctx.int("stash_type", default: 1)
            guard stash == 1 || stash == 11 else { throw OpError.attribute("stash_type", "must be 1 (float) or 11 (double), got \(stash)") }
        },
        infer: { _, inputs in
            let dtype = inputs.first??.dtype
            let values = inputs.prefix(3).map { $0?.constant }
            if values.count == 3, let s = values[0], let l = values[1], let d = values[2], let count = try? rangeCount(s, l, d) {
                return [type(dtype, [.value(count)])]
            }
            return [type(dtype, [.unknown])]
        },
        run: runRange)

    static func runRange(_ ctx: NodeContext, _ inputs: [Tensor?]) throws -> [Tensor] {
        let start = try required(inputs, 0), limit = try required(inputs, 1), delta = try required(inputs, 2)
        if start.dtype == .f16 {
            let wide: DType = try ctx.int("stash_type", default: 1) == 11 ? .f64 : .f32
            let values = try runRange(ctx, [start.converted(to: wide), limit.converted(to: wide), delta.converted(to: wide)])
            return try values.map { try $0.converted(to: .f32).converted(to: .f16) }
        }
        guard limit.dtype == start.dtype, delta.dtype == start.dtype else {
            throw OpError.input(1, "start, limit and delta must share a dtype, got \(start.dtype), \(limit.dtype), \(delta.dtype)")
        }
        let count = try rangeCount(start, limit, delta)
        _ = try outputShape([count], start.dtype)
        func make<T: TensorScalar>(_: T.Type, _ add: (T, T) -> T) throws -> Tensor {
            let starts = try start.scalars(as: T.self), steps = try delta.scalars(as: T.self)
            guard var value = starts.first, let step = steps.first else {
                throw OpError.input(0, "start and delta must be scalars")
            }
            var out: [T] = []
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(value); value = add(value, step) }
            return try Tensor(dims: [count], scalars: out)
        }
        switch start.dtype {
        case .f32: return [try make(Float.self, +)]
        case .f64: return [try make(Double.self, +)]
        case .i16: return [try make(Int16.self, &+)]
        case .i32: return [try make(Int32.self, &+)]
        case .i64: return [try make(Int64.self, &+)]
        default: throw OpError.input(0, "Range does not take \(start.dtype)")
        }
    }

    static func rangeCount(_ start: Tensor, _ limit: Tensor, _ delta: Tensor) throws -> Int {
        guard start.elementCount == 1, limit.elementCount == 1, delta.elementCount == 1 else {
            throw OpError.input(0, "start, limit and delta must be scalars")
        }
        let s = try start.converted(to: .f64).scalars(as: Double.self)[0]
        let l = try limit.converted(to: .f64).scalars(as: Double.self)[0]
        let d = try delta.converted(to: .f64).scalars(as: Double.self)[0]
        guard d != 0, d.isFinite else { throw OpError.input(2, "delta must be finite and nonzero, got \(d)") }
        // limit − start is taken in the input's own precision first, as ORT does.
        let span = start.dtype == .f32 ? Double(Float(l) - Float(s)) : l - s
        let count = (span / d).rounded(.up)
        guard count.isFinite, count < Double(1 << 40) else { throw OpError.input(1, "Range would have \(count) elements") }
        return max(Int(count), 0)
    }

    /// NonZero (9, 13): i64 [rank, n] coordinates of the nonzero elements in C order
    /// (a scalar counts as rank 1). NaN is nonzero; -0.0 is zero.
    static let nonZero = OperatorDefinition(
        "NonZero", versions: 9...Int.max,
        infer: { _, inputs in [type(.i64, [.value(max(inputs.first??.rank ?? 1, 1)), .unknown])] },
        run: { _, inputs in
            let x = try required(inputs, 0)
            let nonzero: [Bool]
            if x.dtype.isFloatingPoint {
                nonzero = try x.converted(to: .f64).scalars(as: Double.self).map { $0 != 0 }
            } else {
                let size = x.dtype.byteSize
                nonzero = (0..<x.elementCount).map { i in x.bytes[(i * size)..<((i + 1) * size)].contains { $0 != 0 } }
            }
            let dims = x.dims.isEmpty ? [1] : x.dims
            let strides = try Shape(dims).strides
            let hits = nonzero.indices.filter { nonzero[$0] }
            var out = [Int64](repeating: 0, count: dims.count * hits.count)
            for (j, flat) in hits.enumerated() {
                for d in dims.indices { out[d * hits.count + j] = Int64((flat / strides[d]) % dims[d]) }
            }
            return [try Tensor(dims: [dims.count, hits.count], scalars: out)]
        })

    /// Trilu (14): keeps the upper (j − i ≥ k) or lower (j − i ≤ k) triangle of the last two
    /// axes, zeroing the rest.
    static let trilu = OperatorDefinition(
        "Trilu", versions: 14...Int.max, attributes: ["upper"], infer: sameAsInput(0),
        run: { ctx, inputs in
            let x = try required(inputs, 0)
            guard x.dims.count >= 2 else { throw OpError.input(0, "Trilu needs rank 2 or more, got \(x.shape)") }
            let k = try optional(inputs, 1).map { try integer($0, input: 1) } ?? 0
            let upper = try ctx.int("upper", default: 1) != 0
            let rows = x.dims[x.dims.count - 2], cols = x.dims[x.dims.count - 1]
            let map = (0..<x.elementCount).map { flat -> Int in
                let i = (flat / max(cols, 1)) % max(rows, 1), j = flat % max(cols, 1)
                let keep = upper ? j - i >= k : j - i <= k
                return keep ? flat : -1
            }
            return [try gather(x, map: map, shape: x.shape)]
        })

    /// OneHot (9, 11): `values` = [off, on]; indices (any numeric type, truncated) in
    /// [−depth, depth) mark the on position along the new `axis`; others give all off.
    static let oneHot = OperatorDefinition(
        "OneHot", versions: 9...Int.max, attributes: ["axis"],
        infer: { ctx, inputs in
            let values = inputs.count > 2 ? inputs[2] : nil
            guard let shape = inputs.first??.shape else { return [type(values?.dtype, nil)] }
            let rank = shape.count + 1
            guard let axis = inferAxis(try ctx.int("axis", default: -1), rank: rank) else { return [type(values?.dtype, nil)] }
            var depth = Dimension.unknown
            if let d = inputs.count > 1 ? inputs[1]?.constant : nil, let v = try? oneHotDepth(d) { depth = .value(v) }
            var out = shape
            out.insert(depth, at: axis)
            return [type(values?.dtype, out)]
        },
        run: { ctx, inputs in
            let indices = try required(inputs, 0)
            let depth = try oneHotDepth(try required(inputs, 1))
            let values = try required(inputs, 2)
            guard values.elementCount == 2 else { throw OpError.input(2, "values must hold [off, on], got shape \(values.shape)") }
            let axis = try ctx.axis(try ctx.int("axis", default: -1), rank: indices.dims.count + 1)
            var dims = indices.dims
            dims.insert(depth, at: axis)
            let shape = try outputShape(dims, values.dtype)
            let positions = try indices.converted(to: .f64).scalars(as: Double.self)
            let outer = indices.dims[..<axis].reduce(1, *), inner = indices.dims[axis...].reduce(1, *)
            // Element (o, d, i) is on when index (o, i) equals d: map to values[1], else values[0].
            var map = [Int](repeating: 0, count: shape.elementCount)
            for o in 0..<outer {
                for i in 0..<inner {
                    let p = positions[o * inner + i]
                    guard p.isFinite, p.magnitude < 1e15 else { continue }
                    var d = Int(p.rounded(.towardZero))
                    if d < 0 { d += depth }
                    if d >= 0 && d < depth { map[(o * depth + d) * inner + i] = 1 }
                }
            }
            return [try gather(values.reshaped(to: Shape([2])), map: map, shape: shape)]
        })

    static func oneHotDepth(_ t: Tensor) throws -> Int {
        guard t.elementCount == 1, let d = try t.converted(to: .f64).scalars(as: Double.self).first,
              d.isFinite, d >= 1, d < Double(1 << 32) else {
            throw OpError.input(1, "depth must be one positive value, got \(t.dtype)\(t.shape)")
        }
        return Int(d)
    }
}
