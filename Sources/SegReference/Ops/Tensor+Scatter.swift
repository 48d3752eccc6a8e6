import SegGraph
import SegTensor

// Indexed writes: ScatterND, ScatterElements (and its old name Scatter). The output is a copy
// of `data` with `updates` written (or combined, with `reduction`) at the indexed places,
// in index order, so with duplicate indices and no reduction the last write wins.

extension TensorOperators {
    static func reductionCheck(_ ctx: NodeContext) throws {
        let r = try ctx.string("reduction", default: "none")
        let allowed = ctx.opset >= 18 ? ["none", "add", "mul", "max", "min"] : ctx.opset >= 16 ? ["none", "add", "mul"] : ["none"]
        guard allowed.contains(r) else {
            throw OpError.attribute("reduction", "'\(r)' is not one of \(allowed.joined(separator: ", ")) at opset \(ctx.opset)")
        }
    }

    /// ScatterND (11, 13; `reduction` add/mul from 16, max/min from 18): updates has shape
    /// indices.shape[:-1] + data.shape[k:], one slice per index tuple.
    static let scatterND = OperatorDefinition(
        "ScatterND", versions: 11...Int.max, attributes: ["reduction"],
        check: reductionCheck, infer: sameAsInput(0),
        run: { ctx, inputs in
            let data = try required(inputs, 0)
            let indices = try required(inputs, 1)
            let updates = try required(inputs, 2)
            let plan = try ndPlan(data.dims, indices: indices, batchDims: 0)
            let expected = Array(indices.dims.dropLast()) + Array(data.dims[plan.sliceStart...])
            guard updates.dims == expected, updates.dtype == data.dtype else {
                throw OpError.input(2, "updates must be \(data.dtype)\(expected), got \(updates.dtype)\(updates.shape)")
            }
            var targets: [Int] = []
            targets.reserveCapacity(updates.elementCount)
            for start in plan.starts { targets.append(contentsOf: start..<(start + plan.sliceSize)) }
            return [try scatter(data, updates: updates, targets: targets, reduction: try ctx.string("reduction", default: "none"))]
        })

    /// ScatterElements (11, 13; `reduction` add/mul from 16, max/min from 18): updates and
    /// indices share a shape; element m goes to m with its `axis` coordinate replaced.
    static let scatterElements = OperatorDefinition(
        "ScatterElements", versions: 11...Int.max, attributes: ["axis", "reduction"],
        check: reductionCheck, infer: sameAsInput(0), run: runScatterElements)

    /// Scatter (9, 10): ScatterElements before it was renamed, without reductions.
    static let scatterOld = OperatorDefinition(
        "Scatter", versions: 9...10, attributes: ["axis"], infer: sameAsInput(0), run: runScatterElements)

    static func runScatterElements(_ ctx: NodeContext, _ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try required(inputs, 0)
        let indices = try required(inputs, 1)
        let updates = try required(inputs, 2)
        guard updates.dims == indices.dims, updates.dtype == data.dtype else {
            throw OpError.input(2, "updates must be \(data.dtype)\(indices.shape) like the indices, got \(updates.dtype)\(updates.shape)")
        }
        let axis = try ctx.axis(try ctx.int("axis", default: 0), rank: data.dims.count)
        let targets = try elementTargets(data.dims, indices: indices, axis: axis, input: 1)
        return [try scatter(data, updates: updates, targets: targets, reduction: try ctx.string("reduction", default: "none"))]
    }

    /// `data` with updates[i] combined into element targets[i], in order.
    static func scatter(_ data: Tensor, updates: Tensor, targets: [Int], reduction: String) throws -> Tensor {
        guard targets.count == updates.elementCount, targets.allSatisfy({ $0 >= 0 && $0 < data.elementCount }) else {
            throw OpError.other("internal: scatter targets do not match the data")
        }
        if reduction == "none" {
            // Writes are plain element copies: a gather from data and updates side by side.
            var map = Array(0..<data.elementCount)
            for (i, t) in targets.enumerated() { map[t] = data.elementCount + i }
            let both = try Tensor(dtype: data.dtype, shape: Shape([data.elementCount + updates.elementCount]), bytes: data.bytes + updates.bytes)
            return try gather(both, map: map, shape: data.shape)
        }
        func reduce<T: TensorScalar>(_: T.Type, _ combine: (T, T) -> T) throws -> Tensor {
            var out = try data.scalars(as: T.self)
            let values = try updates.scalars(as: T.self)
            for (i, t) in targets.enumerated() { out[t] = combine(out[t], values[i]) }
            return try Tensor(shape: data.shape, scalars: out)
        }
        func float<T: TensorScalar & BinaryFloatingPoint>(_: T.Type) throws -> Tensor {
            switch reduction {
            case "add": return try reduce(T.self, +)
            case "mul": return try reduce(T.self, *)
            case "max": return try reduce(T.self) { Swift.max($0, $1) }
            default: return try reduce(T.self) { Swift.min($0, $1) }
            }
        }
        func integer<T: TensorScalar & FixedWidthInteger>(_: T.Type) throws -> Tensor {
            switch reduction {
            case "add": return try reduce(T.self, &+)
            case "mul": return try reduce(T.self, &*)
            case "max": return try reduce(T.self) { Swift.max($0, $1) }
            default: return try reduce(T.self) { Swift.min($0, $1) }
            }
        }
        switch data.dtype {
        case .f32: return try float(Float.self)
        case .f64: return try float(Double.self)
        case .f16:
            let wide = try scatter(data.converted(to: .f32), updates: updates.converted(to: .f32), targets: targets, reduction: reduction)
            return try wide.converted(to: .f16)
        case .i8: return try integer(Int8.self)
        case .u8: return try integer(UInt8.self)
        case .i16: return try integer(Int16.self)
        case .u16: return try integer(UInt16.self)
        case .i32: return try integer(Int32.self)
        case .u32: return try integer(UInt32.self)
        case .i64: return try integer(Int64.self)
        case .u64: return try integer(UInt64.self)
        case .bool: throw OpError.input(0, "reduction '\(reduction)' does not apply to bool data")
        }
    }
}
