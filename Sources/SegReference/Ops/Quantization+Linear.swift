import SegGraph
import SegTensor

// QuantizeLinear and DequantizeLinear (10, 13, 19, 21): per-tensor, per-axis (`axis`, from 13)
// and blocked (`block_size`, from 21) scales and zero points.

extension QuantizationOperators {
    static let linearAttributes: Set<String> = ["axis", "saturate", "block_size", "output_dtype", "precision"]

    /// QuantizeLinear: x (f32 or f16) to u8 (default), i8, u16 or i16: the zero point's dtype,
    /// else `output_dtype`. `saturate` only concerns float8 outputs, which are not offered.
    static let quantizeLinear = OperatorDefinition(
        "QuantizeLinear", versions: 10...Int.max, attributes: linearAttributes,
        check: { ctx in
            try checkAttributes(ctx)
            if ctx.has("output_dtype") {
                let code = try ctx.int("output_dtype")
                guard code == 0 || (dtype(onnxCode: code).flatMap(range(of:)) != nil) else {
                    throw OpError.attribute("output_dtype", "type code \(code) is not u8, i8, u16 or i16")
                }
            }
        },
        infer: { ctx, inputs in
            let zp = inputs.count > 2 ? inputs[2] : nil
            let code = try ctx.int("output_dtype", default: 0)
            return [TensorType(elementType: zp?.dtype ?? dtype(onnxCode: code) ?? .u8, shape: inputs.first??.shape)]
        },
        run: { ctx, inputs in
            let x = try required(inputs, 0)
            let scale = try required(inputs, 1)
            let zeroPoint = optional(inputs, 2)
            let code = try ctx.int("output_dtype", default: 0)
            let outType = zeroPoint?.dtype ?? dtype(onnxCode: code) ?? .u8
            if let zeroPoint, code != 0, dtype(onnxCode: code) != zeroPoint.dtype {
                throw OpError.attribute("output_dtype", "type code \(code) disagrees with the zero point's \(zeroPoint.dtype)")
            }
            guard let (qmin, qmax) = range(of: outType) else { throw OpError.input(2, "cannot quantize to \(outType)") }
            let values = try floats(x, input: 0)
            let scales = try floats(scale, input: 1)
            let zeros = try zeroPoint.map { try int32s($0, input: 2) } ?? [Int32](repeating: 0, count: scales.count)
            let map = try parameterMap(ctx, x.dims, scale: scale, zeroPoint: zeroPoint)
            var out = [Int32](repeating: 0, count: values.count)
            for i in values.indices {
                let p = map[i]
                out[i] = quantize(values[i] / scales[p], zeroPoint: zeros[p], min: qmin, max: qmax)
            }
            return [try quantizedTensor(out, shape: x.shape, dtype: outType)]
        })

    /// DequantizeLinear: x (u8, i8, u16, i16, or i32 with no zero point) to the scale's
    /// dtype (f32 or f16).
    static let dequantizeLinear = OperatorDefinition(
        "DequantizeLinear", versions: 10...Int.max, attributes: linearAttributes.subtracting(["saturate", "precision"]),
        check: { ctx in
            try checkAttributes(ctx)
            let code = try ctx.int("output_dtype", default: 0)
            guard code == 0 || code == 1 || code == 10 else {
                throw OpError.attribute("output_dtype", "type code \(code) is not float or float16")
            }
        },
        infer: { _, inputs in
            [TensorType(elementType: inputs.count > 1 ? inputs[1]?.dtype : nil, shape: inputs.first??.shape)]
        },
        run: { ctx, inputs in
            let x = try required(inputs, 0)
            let scale = try required(inputs, 1)
            let zeroPoint = optional(inputs, 2)
            let code = try ctx.int("output_dtype", default: 0)
            if code != 0, dtype(onnxCode: code) != scale.dtype {
                throw OpError.attribute("output_dtype", "type code \(code) disagrees with the scale's \(scale.dtype)")
            }
            if let zeroPoint, zeroPoint.dtype != x.dtype {
                throw OpError.input(2, "zero point is \(zeroPoint.dtype) but x is \(x.dtype)")
            }
            let values = try int32s(x, input: 0)
            let scales = try floats(scale, input: 1)
            let zeros = try zeroPoint.map { try int32s($0, input: 2) } ?? [Int32](repeating: 0, count: scales.count)
            if x.dtype == .i32, zeros.contains(where: { $0 != 0 }) {
                throw OpError.input(2, "an i32 input must have a zero point of 0")
            }
            let map = try parameterMap(ctx, x.dims, scale: scale, zeroPoint: zeroPoint)
            var out = [Float](repeating: 0, count: values.count)
            for i in values.indices {
                let p = map[i]
                out[i] = Float(values[i] &- zeros[p]) * scales[p]
            }
            let result = try Tensor(shape: x.shape, scalars: out)
            return [scale.dtype == .f16 ? try result.converted(to: .f16) : result]
        })

    /// For every element of x, the index of its scale (and zero point): one scale for the
    /// tensor, one per index along `axis` (1-D scale), or one per `block_size` run along
    /// `axis` (scale of x's rank with that axis shortened to ceil(dim / block_size)).
    static func parameterMap(_ ctx: NodeContext, _ dims: [Int], scale: Tensor, zeroPoint: Tensor?) throws -> [Int] {
        if let zeroPoint, zeroPoint.dims != scale.dims {
            throw OpError.input(2, "zero point shape \(zeroPoint.shape) differs from the scale's \(scale.shape)")
        }
        let count = dims.reduce(1, *)
        if scale.elementCount == 1 { return [Int](repeating: 0, count: count) }
        guard ctx.opset >= 13 else { throw OpError.input(1, "opset \(ctx.opset) takes a single scale, got shape \(scale.shape)") }
        let axis = try ctx.axis(try ctx.int("axis", default: 1), rank: dims.count)
        let block = try ctx.int("block_size", default: 0)
        let offsets: [[Int]]
        if block == 0 {
            guard scale.dims == [dims[axis]] else {
                throw OpError.input(1, "a per-axis scale needs shape [\(dims[axis])] for axis \(axis) of \(dims), got \(scale.shape)")
            }
            offsets = dims.indices.map { d in d == axis ? Array(0..<max(dims[d], 1)) : [Int](repeating: 0, count: max(dims[d], 1)) }
        } else {
            var expected = dims
            expected[axis] = (dims[axis] + block - 1) / block
            guard scale.dims == expected else {
                throw OpError.input(1, "a blocked scale (block_size \(block), axis \(axis)) needs shape \(expected), got \(scale.shape)")
            }
            let strides = scale.shape.strides
            offsets = dims.indices.map { d in (0..<max(dims[d], 1)).map { (d == axis ? $0 / block : $0) * strides[d] } }
        }
        return TensorOperators.indexMap(dims: dims, offsets: offsets)
    }
}
