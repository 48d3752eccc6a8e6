import SegGraph
import SegTensor

// DynamicQuantizeLinear (11), MatMulInteger (10), QLinearMatMul (10, 21).

extension QuantizationOperators {
    /// DynamicQuantizeLinear: u8 with scale and zero point from the data, exactly as ORT:
    /// the range is widened to include 0, scale = (max − min) / 255 (1 when max == min),
    /// zero point = round_half_to_even(clamp(−min / scale, 0, 255)).
    static let dynamicQuantizeLinear = OperatorDefinition(
        "DynamicQuantizeLinear", versions: 11...Int.max,
        infer: { _, inputs in
            [TensorType(elementType: .u8, shape: inputs.first??.shape), TensorType(elementType: .f32, shape: []), TensorType(elementType: .u8, shape: [])]
        },
        run: { _, inputs in
            let x = try required(inputs, 0)
            guard x.dtype == .f32 else { throw OpError.input(0, "DynamicQuantizeLinear takes f32, got \(x.dtype)") }
            let values = try x.scalars(as: Float.self)
            var low: Float = 0, high: Float = 0
            for v in values {
                low = Swift.min(low, v)
                high = Swift.max(high, v)
            }
            let scale: Float = high == low ? 1 : (high - low) / 255
            let zero = (0 - low / scale)
            let zeroPoint = Int32((zero >= 0 ? (zero <= 255 ? zero : 255) : 0).rounded(.toNearestOrEven))
            let out = values.map { quantize($0 / scale, zeroPoint: zeroPoint, min: 0, max: 255) }
            return [try quantizedTensor(out, shape: x.shape, dtype: .u8), Tensor(scalar: scale), Tensor(scalar: UInt8(zeroPoint))]
        })

    /// MatMulInteger: i32 = Σ (a − a_zero_point)(b − b_zero_point) with NumPy matmul shapes;
    /// a's zero point is per tensor or per row, b's per tensor or per column.
    static let matMulInteger = OperatorDefinition(
        "MatMulInteger", versions: 10...Int.max,
        infer: { _, inputs in [TensorType(elementType: .i32, shape: inferMatMul(inputs.first??.shape, inputs.count > 1 ? inputs[1]?.shape : nil))] },
        run: { _, inputs in
            let a = try required(inputs, 0), b = try required(inputs, 1)
            let product = try integerMatMul(a, b, aZero: optional(inputs, 2), bZero: optional(inputs, 3))
            return [try Tensor(shape: try TensorOperators.outputShape(product.dims, .i32), scalars: product.values)]
        })

    /// QLinearMatMul: the integer product requantized like ORT's MLAS: with
    /// m = a_scale · b_scale / y_scale in f32, y = saturate(round_half_even(acc · m) + y_zero_point).
    /// b's scale and zero point may be per column.
    static let qLinearMatMul = OperatorDefinition(
        "QLinearMatMul", versions: 10...Int.max,
        infer: { _, inputs in
            let yZero = inputs.count > 7 ? inputs[7] : nil
            return [TensorType(elementType: yZero?.dtype ?? inputs.first??.dtype, shape: inferMatMul(inputs.first??.shape, inputs.count > 3 ? inputs[3]?.shape : nil))]
        },
        run: { _, inputs in
            let a = try required(inputs, 0), b = try required(inputs, 3)
            let aScale = try floats(try required(inputs, 1), input: 1)
            let bScale = try floats(try required(inputs, 4), input: 4)
            let yScale = try floats(try required(inputs, 6), input: 6)
            let yZeroTensor = optional(inputs, 7)
            let outType = yZeroTensor?.dtype ?? a.dtype
            let yZero = try yZeroTensor.map { try int32s($0, input: 7) } ?? [0]
            guard aScale.count == 1, yScale.count == 1, yZero.count == 1 else {
                throw OpError.input(1, "a_scale, y_scale and y_zero_point must be single values")
            }
            guard let (qmin, qmax) = range(of: outType) else { throw OpError.input(7, "cannot quantize to \(outType)") }
            let product = try integerMatMul(a, b, aZero: optional(inputs, 2), bZero: optional(inputs, 5))
            let n = product.dims.last ?? 1
            guard bScale.count == 1 || bScale.count == n else {
                throw OpError.input(4, "b_scale must be one value or one per column (\(n)), got \(bScale.count)")
            }
            let multipliers = bScale.map { aScale[0] * $0 / yScale[0] }
            let out = product.values.enumerated().map { i, acc in
                quantize(Float(acc) * multipliers[multipliers.count == 1 ? 0 : product.column[i]], zeroPoint: yZero[0], min: qmin, max: qmax)
            }
            return [try quantizedTensor(out, shape: try TensorOperators.outputShape(product.dims, outType), dtype: outType)]
        })

    static func inferMatMul(_ a: [Dimension]?, _ b: [Dimension]?) -> [Dimension]? {
        guard let a, let b, !a.isEmpty, !b.isEmpty else { return nil }
        let a2 = a.count == 1 ? [.value(1)] + a : a, b2 = b.count == 1 ? b + [.value(1)] : b
        guard var out = Broadcast.symbolic([Array(a2.dropLast(2)), Array(b2.dropLast(2))]) else { return nil }
        if a.count > 1 { out.append(a2[a2.count - 2]) }
        if b.count > 1 { out.append(b2[b2.count - 1]) }
        return out
    }

    /// NumPy matmul of two quantized tensors after subtracting zero points, in i32 (wrapping,
    /// as the hardware accumulators do). `column[i]` is output element i's column in b.
    static func integerMatMul(_ a: Tensor, _ b: Tensor, aZero: Tensor?, bZero: Tensor?) throws -> (values: [Int32], dims: [Int], column: [Int]) {
        guard !a.dims.isEmpty, !b.dims.isEmpty else { throw OpError.input(0, "matmul inputs must have rank 1 or more") }
        let aDims = a.dims.count == 1 ? [1] + a.dims : a.dims
        let bDims = b.dims.count == 1 ? b.dims + [1] : b.dims
        let (m, k) = (aDims[aDims.count - 2], aDims[aDims.count - 1])
        let (k2, n) = (bDims[bDims.count - 2], bDims[bDims.count - 1])
        guard k == k2 else { throw OpError.input(1, "cannot multiply \(a.shape) by \(b.shape): inner dims \(k) and \(k2) differ") }
        let aBatch = Array(aDims.dropLast(2)), bBatch = Array(bDims.dropLast(2))
        let batch = try Broadcast.shape([aBatch, bBatch])
        var dims = batch
        if a.dims.count > 1 { dims.append(m) }
        if b.dims.count > 1 { dims.append(n) }
        _ = try TensorOperators.outputShape(dims, .i32)
        let av = try int32s(a, input: 0), bv = try int32s(b, input: 1)
        let aCount = aBatch.reduce(1, *) * m, bCount = bBatch.reduce(1, *) * n
        let az = try zeroPoints(aZero, per: m, all: aCount, input: 2)
        let bz = try zeroPoints(bZero, per: n, all: bCount, input: 3)
        let aMap = Broadcast.indexMap(from: aBatch, to: batch), bMap = Broadcast.indexMap(from: bBatch, to: batch)
        var values: [Int32] = [], column: [Int] = []
        values.reserveCapacity(batch.reduce(1, *) * m * n)
        column.reserveCapacity(values.capacity)
        for (ab, bb) in zip(aMap, bMap) {
            for i in 0..<m {
                let row = ab * m + i, zeroA = az(row)
                for j in 0..<n {
                    let col = bb * n + j, zeroB = bz(col)
                    var acc: Int32 = 0
                    for p in 0..<k {
                        acc &+= (av[row * k + p] &- zeroA) &* (bv[(bb * k + p) * n + j] &- zeroB)
                    }
                    values.append(acc)
                    column.append(j)
                }
            }
        }
        return (values, dims, column)
    }

    /// A zero point lookup by row (of a) or column (of b): one value, one per row/column
    /// shared by every batch, or one per row/column of every batch.
    static func zeroPoints(_ t: Tensor?, per size: Int, all: Int, input: Int) throws -> (Int) -> Int32 {
        guard let t else { return { _ in 0 } }
        let v = try int32s(t, input: input)
        switch v.count {
        case 1: return { _ in v[0] }
        case size: return { v[$0 % size] }
        case all: return { v[$0] }
        default: throw OpError.input(input, "zero point has \(v.count) values; expected 1, \(size) or \(all)")
        }
    }
}
