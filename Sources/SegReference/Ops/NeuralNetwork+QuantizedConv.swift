import SegGraph
import SegTensor

extension NeuralNetworkOperators {
    /// ConvInteger (10): `Σ (x − x_zero_point)(w − w_zero_point)` in int32, u8/i8 inputs, the
    /// weight zero point per tensor or per output channel. Padding holds x_zero_point, so it
    /// contributes nothing.
    static let convInteger = OperatorDefinition(
        "ConvInteger", versions: 10...Int.max, attributes: ConvPlan.attributes,
        check: { try ConvPlan.check($0) },
        infer: { ctx, inputs in
            let x = inputs.first??.type, w = inputs.count > 1 ? inputs[1]?.type : nil
            return [try ConvPlan.infer(ctx, x: x?.shape, w: w?.shape, dtype: .i32)]
        }
    ) { ctx, inputs in
        let x = try required(inputs, 0), w = try required(inputs, 1)
        let plan = try ConvPlan(ctx, x: x.dims, w: w.dims)
        let acc = try integerConv(plan, x: x, xZero: optional(inputs, 2), w: w, wZero: optional(inputs, 3),
                                  inputs: (x: 0, xZero: 2, w: 1, wZero: 3))
        return [try Tensor(dims: plan.outputDims, scalars: acc)]
    }

    /// QLinearConv (10): the int32 accumulation of ConvInteger plus the int32 bias, then
    /// requantized like ORT (MLAS): `float(acc) · (x_scale · w_scale / y_scale)` with the scale
    /// product formed in f32, rounded half to even, plus y_zero_point, saturated to u8/i8.
    static let qlinearConv = OperatorDefinition(
        "QLinearConv", versions: 10...Int.max, attributes: ConvPlan.attributes,
        check: { try ConvPlan.check($0) },
        infer: { ctx, inputs in
            let x = inputs.first??.type, w = inputs.count > 3 ? inputs[3]?.type : nil
            let dtype = (inputs.count > 7 ? inputs[7]?.dtype : nil) ?? x?.elementType
            return [try ConvPlan.infer(ctx, x: x?.shape, w: w?.shape, dtype: dtype)]
        }
    ) { ctx, inputs in
        let x = try required(inputs, 0), w = try required(inputs, 3)
        let plan = try ConvPlan(ctx, x: x.dims, w: w.dims, weightInput: 3)
        var acc = try integerConv(plan, x: x, xZero: optional(inputs, 2), w: w, wZero: optional(inputs, 5),
                                  inputs: (x: 0, xZero: 2, w: 3, wZero: 5))
        let m = plan.outChannels
        if let b = optional(inputs, 8) {
            guard b.dtype == .i32, b.elementCount == m else { throw OpError.input(8, "bias must be i32 with \(m) values, got \(b.dtype)\(b.shape)") }
            let bias = try b.scalars(as: Int32.self)
            let spatial = acc.count / max(1, plan.batch * m)
            for i in acc.indices { acc[i] = acc[i] &+ bias[(i / max(1, spatial)) % m] }
        }
        let xScale = try scalarFloat(try required(inputs, 1), input: 1)
        let yScale = try scalarFloat(try required(inputs, 6), input: 6)
        let wScales = try perChannel(try required(inputs, 4), input: 4, channels: m)
        let yZeroTensor = optional(inputs, 7)
        let outType = yZeroTensor?.dtype ?? x.dtype
        guard outType == .u8 || outType == .i8 else { throw OpError.input(7, "y_zero_point must be u8 or i8, got \(outType)") }
        let yZero = try yZeroTensor.map { t -> Int64 in
            guard t.elementCount == 1 else { throw OpError.input(7, "y_zero_point must be a scalar, got \(t.shape)") }
            return try NN.integers(t, input: 7)[0]
        } ?? 0
        let scales = wScales.map { xScale * $0 / yScale }
        let (lo, hi): (Float, Float) = outType == .u8 ? (0, 255) : (-128, 127)
        let spatial = acc.count / max(1, plan.batch * m)
        let values: [Int32] = acc.indices.map { i in
            let scaled = (Float(acc[i]) * scales[(i / max(1, spatial)) % m]).rounded(.toNearestOrEven) + Float(yZero)
            return scaled.isNaN ? Int32(lo) : Int32(min(max(scaled, lo), hi))
        }
        let shape = try Shape(plan.outputDims)
        if outType == .u8 { return [try Tensor(shape: shape, scalars: values.map { UInt8(truncatingIfNeeded: $0) })] }
        return [try Tensor(shape: shape, scalars: values.map { Int8(truncatingIfNeeded: $0) })]
    }

    /// Subtracts the zero points and runs the shared direct convolution in wrapping int32.
    static func integerConv(_ plan: ConvPlan, x: Tensor, xZero: Tensor?, w: Tensor, wZero: Tensor?,
                            inputs: (x: Int, xZero: Int, w: Int, wZero: Int)) throws -> [Int32] {
        for (t, i) in [(x, inputs.x), (w, inputs.w)] where t.dtype != .u8 && t.dtype != .i8 {
            throw OpError.input(i, "expected u8 or i8, got \(t.dtype)")
        }
        if let xZero, xZero.dtype != x.dtype { throw OpError.input(inputs.xZero, "zero point is \(xZero.dtype), data is \(x.dtype)") }
        if let wZero, wZero.dtype != w.dtype { throw OpError.input(inputs.wZero, "zero point is \(wZero.dtype), data is \(w.dtype)") }
        let xz: Int64 = try xZero.map { t in
            guard t.elementCount == 1 else { throw OpError.input(inputs.xZero, "x zero point must be a scalar, got \(t.shape)") }
            return try NN.integers(t, input: inputs.xZero)[0]
        } ?? 0
        let m = plan.outChannels
        let wz: [Int64] = try wZero.map { t in
            let v = try NN.integers(t, input: inputs.wZero)
            guard v.count == 1 || v.count == m else { throw OpError.input(inputs.wZero, "expected 1 or \(m) zero points, got \(v.count)") }
            return v.count == 1 ? [Int64](repeating: v[0], count: m) : v
        } ?? [Int64](repeating: 0, count: m)
        let xs = try NN.integers(x, input: inputs.x).map { Int32($0 - xz) }
        let wRaw = try NN.integers(w, input: inputs.w)
        let perChannel = wRaw.count / max(1, m)
        let ws = wRaw.indices.map { Int32($0 / max(1, perChannel) < m ? wRaw[$0] - wz[$0 / max(1, perChannel)] : wRaw[$0]) }
        var y = [Int32](repeating: 0, count: try NN.checkedCount(plan.outputDims, dtype: .i32))
        try convolve(xs, ws, &y, plan)
        return y
    }

    static func scalarFloat(_ t: Tensor, input: Int) throws -> Float {
        let v: [Float] = try NN.floats(t, input: input)
        guard v.count == 1 else { throw OpError.input(input, "expected a scalar scale, got \(t.shape)") }
        return v[0]
    }

    static func perChannel(_ t: Tensor, input: Int, channels: Int) throws -> [Float] {
        let v: [Float] = try NN.floats(t, input: input)
        guard v.count == 1 || v.count == channels else { throw OpError.input(input, "expected 1 or \(channels) scales, got \(v.count)") }
        return v.count == 1 ? [Float](repeating: v[0], count: channels) : v
    }
}
