import SegGraph
import SegTensor

// Ops that cut or join along axes: Concat, Split, Slice.

extension TensorOperators {
    /// Rows `range` of `x` along `axis` (outer dims × range × inner dims), copied as bytes.
    static func axisRows(_ x: Tensor, axis: Int, _ range: Range<Int>) throws -> Tensor {
        let outer = x.dims[..<axis].reduce(1, *)
        let row = x.dims[(axis + 1)...].reduce(1, *) * x.dtype.byteSize
        let length = x.dims[axis]
        var bytes: [UInt8] = []
        bytes.reserveCapacity(outer * range.count * row)
        for o in 0..<outer {
            let base = (o * length + range.lowerBound) * row
            bytes.append(contentsOf: x.bytes[base..<(base + range.count * row)])
        }
        var dims = x.dims
        dims[axis] = range.count
        return try Tensor(dtype: x.dtype, shape: Shape(dims), bytes: bytes)
    }

    /// Concat (4, 11, 13): inputs of one dtype and rank, equal except along `axis`.
    static let concat = OperatorDefinition(
        "Concat", versions: 4...Int.max, attributes: ["axis"],
        infer: { ctx, inputs in
            let shapes = inputs.map { $0?.shape }
            let dtype = inputs.lazy.compactMap { $0?.dtype }.first
            guard let rank = shapes.lazy.compactMap({ $0?.count }).first,
                  let axis = inferAxis(try ctx.int("axis"), rank: rank) else { return [type(dtype, nil)] }
            var out = [Dimension](repeating: .unknown, count: rank)
            var total: Int? = 0
            for shape in shapes {
                guard let shape, shape.count == rank else { total = nil; continue }
                for (d, dim) in shape.enumerated() where d != axis {
                    if case .unknown = out[d] { out[d] = dim } else if case .value = dim, case .param = out[d] { out[d] = dim }
                }
                if case .value(let v) = shape[axis] { total = total.map { $0 + v } } else { total = nil }
            }
            out[axis] = total.map { .value($0) } ?? .unknown
            return [type(dtype, out)]
        },
        run: { ctx, inputs in
            let parts = inputs.compactMap { $0 }
            guard let first = parts.first else { throw OpError.input(0, "Concat needs at least one input") }
            let rank = first.dims.count
            let axis = try ctx.axis(try ctx.int("axis"), rank: rank)
            var total = 0
            for (i, p) in parts.enumerated() {
                guard p.dtype == first.dtype, p.dims.count == rank,
                      p.dims.indices.allSatisfy({ $0 == axis || p.dims[$0] == first.dims[$0] }) else {
                    throw OpError.input(i, "\(p.dtype)\(p.shape) cannot be concatenated with \(first.dtype)\(first.shape) along axis \(axis)")
                }
                total += p.dims[axis]
            }
            var dims = first.dims
            dims[axis] = total
            let shape = try outputShape(dims, first.dtype)
            let outer = first.dims[..<axis].reduce(1, *)
            let inner = first.dims[(axis + 1)...].reduce(1, *) * first.dtype.byteSize
            var bytes: [UInt8] = []
            bytes.reserveCapacity(shape.elementCount * first.dtype.byteSize)
            for o in 0..<outer {
                for p in parts {
                    let chunk = p.dims[axis] * inner
                    bytes.append(contentsOf: p.bytes[(o * chunk)..<((o + 1) * chunk)])
                }
            }
            return [try Tensor(dtype: first.dtype, shape: shape, bytes: bytes)]
        })

    /// Split (2, 11 with `split` attribute; 13 with `split` input; 18 adds `num_outputs`).
    /// Without sizes the axis is cut into equal parts; from 18 the last part may be smaller.
    static let splitOld = OperatorDefinition(
        "Split", versions: 2...12, attributes: ["axis", "split"],
        infer: { ctx, inputs in inferSplit(ctx, inputs.first ?? nil, sizes: try ctx.ints("split")) },
        run: { ctx, inputs in try split(ctx, try required(inputs, 0), sizes: try ctx.ints("split")) })

    static let split = OperatorDefinition(
        "Split", versions: 13...Int.max, attributes: ["axis", "num_outputs"],
        check: { ctx in
            if ctx.opset < 18 && ctx.has("num_outputs") { throw OpError.attribute("num_outputs", "exists from opset 18") }
            if ctx.has("num_outputs"), try ctx.int("num_outputs") != ctx.node.outputs.count {
                throw OpError.attribute("num_outputs", "is \(try ctx.int("num_outputs")) but the node has \(ctx.node.outputs.count) outputs")
            }
        },
        infer: { ctx, inputs in
            let sizesInput = inputs.count > 1 ? inputs[1] : nil
            if sizesInput != nil && sizesInput?.constant == nil {
                return Array(repeating: type(inputs.first??.dtype, inputs.first??.rank.map { Array(repeating: .unknown, count: $0) }), count: ctx.node.outputs.count)
            }
            return inferSplit(ctx, inputs.first ?? nil, sizes: constantIntegers(sizesInput))
        },
        run: { ctx, inputs in
            try split(ctx, try required(inputs, 0), sizes: try optional(inputs, 1).map { try integers($0, input: 1) })
        })

    static func splitSizes(_ ctx: NodeContext, length: Int, sizes: [Int]?) throws -> [Int] {
        let parts = ctx.node.outputs.count
        if let sizes {
            guard sizes.count == parts, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == length else {
                throw OpError.input(1, "split sizes \(sizes) do not cut an axis of \(length) into \(parts) outputs")
            }
            return sizes
        }
        guard parts > 0 else { throw OpError.other("Split has no outputs") }
        if ctx.opset >= 18 {
            let chunk = (length + parts - 1) / parts
            return (0..<parts).map { max(0, min(chunk, length - $0 * chunk)) }
        }
        guard length % parts == 0 else { throw OpError.input(0, "an axis of \(length) cannot be split into \(parts) equal parts") }
        return Array(repeating: length / parts, count: parts)
    }

    static func split(_ ctx: NodeContext, _ x: Tensor, sizes: [Int]?) throws -> [Tensor] {
        let axis = try ctx.axis(try ctx.int("axis", default: 0), rank: x.dims.count)
        var start = 0
        return try splitSizes(ctx, length: x.dims[axis], sizes: sizes).map { n in
            defer { start += n }
            return try axisRows(x, axis: axis, start..<(start + n))
        }
    }

    static func inferSplit(_ ctx: NodeContext, _ x: InferredValue?, sizes: [Int]?) -> [TensorType?] {
        let count = ctx.node.outputs.count
        guard let shape = x?.shape, let axis = try? inferAxis(ctx.int("axis", default: 0), rank: shape.count) else {
            return Array(repeating: type(x?.dtype, x?.rank.map { Array(repeating: .unknown, count: $0) }), count: count)
        }
        var known: [Int]? = sizes
        if known == nil, case .value(let length) = shape[axis] { known = try? splitSizes(ctx, length: length, sizes: nil) }
        return (0..<count).map { i in
            var out = shape
            out[axis] = known.flatMap { i < $0.count ? .value($0[i]) : nil } ?? .unknown
            return type(x?.dtype, out)
        }
    }

    /// Slice (1 with attributes; 10, 11, 13 with inputs `starts`, `ends`, `axes`, `steps`).
    /// Negative starts/ends count from the end; both are clamped (ends to -1 for negative
    /// steps, so INT_MIN reaches the first element); axes default to 0..<count.
    static let sliceOld = OperatorDefinition(
        "Slice", versions: 1...9, attributes: ["starts", "ends", "axes"],
        infer: { ctx, inputs in
            [inferSlice(inputs.first ?? nil, starts: try ctx.ints("starts"), ends: try ctx.ints("ends"), axes: try ctx.ints("axes"), steps: nil)]
        },
        run: { ctx, inputs in
            guard let starts = try ctx.ints("starts") else { throw OpError.attribute("starts", "required attribute is missing") }
            guard let ends = try ctx.ints("ends") else { throw OpError.attribute("ends", "required attribute is missing") }
            return [try sliced(try required(inputs, 0), starts: starts, ends: ends, axes: try ctx.ints("axes"), steps: nil)]
        })

    static let slice = OperatorDefinition(
        "Slice", versions: 10...Int.max,
        infer: { _, inputs in
            func value(_ i: Int) -> [Int]? { i < inputs.count ? constantIntegers(inputs[i]) : nil }
            func absentOrKnown(_ i: Int) -> Bool { i >= inputs.count || inputs[i] == nil || value(i) != nil }
            let x = inputs.first ?? nil
            guard absentOrKnown(3), absentOrKnown(4) else { return [type(x?.dtype, x?.rank.map { Array(repeating: .unknown, count: $0) })] }
            return [inferSlice(x, starts: value(1), ends: value(2), axes: value(3), steps: value(4))]
        },
        run: { _, inputs in
            func ints(_ i: Int) throws -> [Int]? { try optional(inputs, i).map { try integers($0, input: i) } }
            let starts = try integers(try required(inputs, 1), input: 1)
            let ends = try integers(try required(inputs, 2), input: 2)
            return [try sliced(try required(inputs, 0), starts: starts, ends: ends, axes: try ints(3), steps: try ints(4))]
        })

    /// First index and element count per axis of a slice of `dims`.
    static func sliceRanges(_ dims: [Int], starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?) throws -> [(start: Int, step: Int, count: Int)] {
        let rank = dims.count
        let axes = axes ?? Array(0..<starts.count)
        let steps = steps ?? Array(repeating: 1, count: starts.count)
        guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
            throw OpError.input(1, "starts, ends, axes and steps have different lengths (\(starts.count), \(ends.count), \(axes.count), \(steps.count))")
        }
        var ranges = dims.map { (start: 0, step: 1, count: $0) }
        var seen = Set<Int>()
        for i in starts.indices {
            let axis = axes[i] < 0 ? axes[i] + rank : axes[i]
            guard axis >= 0 && axis < rank, seen.insert(axis).inserted else {
                throw OpError.input(3, "axis \(axes[i]) is out of range for rank \(rank) or repeated")
            }
            let dim = dims[axis], step = steps[i]
            guard step != 0 else { throw OpError.input(4, "step 0 on axis \(axes[i])") }
            var start = starts[i] < 0 ? starts[i] + dim : starts[i]
            var end = ends[i] < 0 ? ends[i] + dim : ends[i]
            if step > 0 {
                start = min(max(start, 0), dim)
                end = min(max(end, 0), dim)
                ranges[axis] = (start, step, end > start ? (end - start - 1) / step + 1 : 0)
            } else {
                start = min(max(start, 0), dim - 1)
                end = min(max(end, -1), dim - 1)
                // −step would overflow for Int.min; any step that large takes one element anyway.
                let back = step == Int.min ? Int.max : -step
                ranges[axis] = (start, step, start > end ? (start - end - 1) / back + 1 : 0)
            }
        }
        return ranges
    }

    static func sliced(_ x: Tensor, starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?) throws -> Tensor {
        let ranges = try sliceRanges(x.dims, starts: starts, ends: ends, axes: axes, steps: steps)
        let strides = x.shape.strides
        let dims = ranges.map(\.count)
        let offsets = ranges.indices.map { d in
            (0..<max(dims[d], 1)).map { (ranges[d].start + $0 * ranges[d].step) * strides[d] }
        }
        return try remap(x, dims: dims, offsets: offsets)
    }

    static func inferSlice(_ x: InferredValue?, starts: [Int]?, ends: [Int]?, axes: [Int]?, steps: [Int]?) -> TensorType {
        guard let shape = x?.shape else { return type(x?.dtype, nil) }
        guard let starts, let ends else { return type(x?.dtype, Array(repeating: .unknown, count: shape.count)) }
        let rank = shape.count
        let axes = axes ?? Array(0..<starts.count)
        let steps = steps ?? Array(repeating: 1, count: starts.count)
        guard axes.count == starts.count, ends.count == starts.count, steps.count == starts.count else { return type(x?.dtype, nil) }
        var out = shape
        // Unsliced axes keep their (possibly symbolic) dims; a symbolic axis stays itself when
        // sliced in full (0 to "the end", step 1), the form exporters write for x[:, a:b].
        var concrete = shape.map { d -> Int in if case .value(let v) = d { v } else { 0 } }
        var symbolic = Set<Int>()
        for (i, a) in axes.enumerated() {
            guard let axis = inferAxis(a, rank: rank) else { return type(x?.dtype, nil) }
            if case .value = shape[axis] { continue }
            symbolic.insert(axis)
            let full = starts[i] == 0 && ends[i] >= Int(Int32.max) && steps[i] == 1
            out[axis] = full ? shape[axis] : .unknown
            concrete[axis] = 0
        }
        guard let ranges = try? sliceRanges(concrete, starts: starts, ends: ends, axes: axes, steps: steps) else { return type(x?.dtype, nil) }
        for axis in ranges.indices where !symbolic.contains(axis) {
            if case .value = shape[axis] { out[axis] = .value(ranges[axis].count) }
        }
        return type(x?.dtype, out)
    }
}
