import SegGraph
import SegTensor

// Indexed reads: Gather, GatherElements, GatherND. Indices may be i32 or i64; negative ones
// count from the end of their axis; out-of-range ones are errors naming the value.

extension TensorOperators {
    /// Gather (1, 11, 13): output = data[:axis] dims + indices dims + data[axis+1:] dims.
    static let gatherOp = OperatorDefinition(
        "Gather", attributes: ["axis"],
        infer: { ctx, inputs in
            let data = inputs.first ?? nil
            let indices = inputs.count > 1 ? inputs[1] : nil
            guard let shape = data?.shape, let idx = indices?.shape,
                  let axis = inferAxis(try ctx.int("axis", default: 0), rank: shape.count) else { return [type(data?.dtype, nil)] }
            return [type(data?.dtype, Array(shape[..<axis]) + idx + Array(shape[(axis + 1)...]))]
        },
        run: { ctx, inputs in
            let data = try required(inputs, 0)
            let indices = try required(inputs, 1)
            let axis = try ctx.axis(try ctx.int("axis", default: 0), rank: data.dims.count)
            let size = data.dims[axis]
            let idx = try integers(indices, input: 1).map { try wrapIndex($0, size: size, input: 1) }
            let outer = data.dims[..<axis].reduce(1, *)
            let inner = data.dims[(axis + 1)...].reduce(1, *)
            let shape = try outputShape(Array(data.dims[..<axis]) + indices.dims + Array(data.dims[(axis + 1)...]), data.dtype)
            var map: [Int] = []
            map.reserveCapacity(shape.elementCount)
            for o in 0..<outer {
                for i in idx {
                    let base = (o * size + i) * inner
                    map.append(contentsOf: base..<(base + inner))
                }
            }
            return [try gather(data, map: map, shape: shape)]
        })

    /// GatherElements (11, 13): output has the indices' shape; element m reads data at m with
    /// its `axis` coordinate replaced by the index there.
    static let gatherElements = OperatorDefinition(
        "GatherElements", versions: 11...Int.max, attributes: ["axis"],
        infer: { _, inputs in [type(inputs.first??.dtype, inputs.count > 1 ? inputs[1]?.shape : nil)] },
        run: { ctx, inputs in
            let data = try required(inputs, 0)
            let indices = try required(inputs, 1)
            let axis = try ctx.axis(try ctx.int("axis", default: 0), rank: data.dims.count)
            let map = try elementTargets(data.dims, indices: indices, axis: axis, input: 1)
            return [try gather(data, map: map, shape: indices.shape)]
        })

    /// For every element of `indices` (same rank as `dims`, no larger off the axis), the flat
    /// index into a tensor of `dims` it addresses. Shared by GatherElements and ScatterElements.
    static func elementTargets(_ dims: [Int], indices: Tensor, axis: Int, input: Int) throws -> [Int] {
        guard indices.dims.count == dims.count,
              indices.dims.indices.allSatisfy({ $0 == axis || indices.dims[$0] <= dims[$0] }) else {
            throw OpError.input(input, "indices of shape \(indices.shape) do not fit data of shape \(dims) off axis \(axis)")
        }
        let strides = try Shape(dims).strides
        let offsets = indices.dims.indices.map { d in
            d == axis ? [Int](repeating: 0, count: max(indices.dims[d], 1)) : (0..<max(indices.dims[d], 1)).map { $0 * strides[d] }
        }
        let base = indexMap(dims: indices.dims, offsets: offsets)
        let values = try integers(indices, input: input)
        return try zip(base, values).map { b, v in b + (try wrapIndex(v, size: dims[axis], input: input)) * strides[axis] }
    }

    /// GatherND (11; `batch_dims` from 12): the last indices axis holds coordinates into the
    /// data dims after the batch dims; each tuple selects an element or a slice.
    static let gatherND = OperatorDefinition(
        "GatherND", versions: 11...Int.max, attributes: ["batch_dims"],
        check: { ctx in
            if ctx.opset < 12 && ctx.has("batch_dims") { throw OpError.attribute("batch_dims", "exists from opset 12") }
        },
        infer: { ctx, inputs in
            let data = inputs.first ?? nil
            let b = try ctx.int("batch_dims", default: 0)
            guard let shape = data?.shape, let idx = inputs.count > 1 ? inputs[1]?.shape : nil, let last = idx.last,
                  case .value(let k) = last, b + k <= shape.count else { return [type(data?.dtype, nil)] }
            return [type(data?.dtype, Array(idx.dropLast()) + Array(shape[(b + k)...]))]
        },
        run: { ctx, inputs in
            let data = try required(inputs, 0)
            let indices = try required(inputs, 1)
            let plan = try ndPlan(data.dims, indices: indices, batchDims: try ctx.int("batch_dims", default: 0))
            let shape = try outputShape(Array(indices.dims.dropLast()) + Array(data.dims[plan.sliceStart...]), data.dtype)
            var map: [Int] = []
            map.reserveCapacity(shape.elementCount)
            for start in plan.starts { map.append(contentsOf: start..<(start + plan.sliceSize)) }
            return [try gather(data, map: map, shape: shape)]
        })

    /// Where each index tuple of a GatherND/ScatterND points: the flat start of the slice it
    /// selects, in tuple order, and the slice's element count.
    static func ndPlan(_ dims: [Int], indices: Tensor, batchDims b: Int) throws -> (starts: [Int], sliceSize: Int, sliceStart: Int) {
        guard let k = indices.dims.last, indices.dims.count >= 1 else {
            throw OpError.input(1, "indices must have rank at least 1, got \(indices.shape)")
        }
        guard b >= 0, b < indices.dims.count, b + k <= dims.count, k >= 0,
              Array(indices.dims[..<b]) == Array(dims[..<b]) else {
            throw OpError.input(1, "indices of shape \(indices.shape) with batch_dims \(b) do not fit data of shape \(dims)")
        }
        let strides = try Shape(dims).strides
        let sliceSize = dims[(b + k)...].reduce(1, *)
        let batchSize = dims[..<b].reduce(1, *)
        let batchStride = dims[b...].reduce(1, *)
        let values = try integers(indices, input: 1)
        let tuples = indices.dims.dropLast().reduce(1, *)
        let perBatch = batchSize == 0 ? 0 : tuples / batchSize
        var starts: [Int] = []
        starts.reserveCapacity(tuples)
        for t in 0..<tuples {
            var flat = perBatch == 0 ? 0 : (t / perBatch) * batchStride
            for j in 0..<k {
                flat += try wrapIndex(values[t * k + j], size: dims[b + j], input: 1) * strides[b + j]
            }
            starts.append(flat)
        }
        return (starts, sliceSize, b + k)
    }
}
