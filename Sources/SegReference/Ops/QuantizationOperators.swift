import SegGraph
import SegTensor

/// Operators of this family, registered in `OperatorRegistry.standard`: the linear
/// quantization ops ONNX Runtime's quantizer emits (Quantization+*.swift).
///
/// Quantizing is y = saturate(round(x / scale) + zero_point), round half to even, computed in
/// f32 as ORT does: x / scale is clamped to [qmin − zp, qmax − zp] before rounding, so NaN
/// lands on qmin. Dequantizing is y = (x − zero_point) · scale in f32, rounded once for f16.
package enum QuantizationOperators {
    package static let all: [OperatorDefinition] = [
        quantizeLinear, dequantizeLinear, dynamicQuantizeLinear, matMulInteger, qLinearMatMul,
    ]

    /// Quantization attributes and the opset that introduced each.
    static let attributeOpsets = ["axis": 13, "saturate": 19, "block_size": 21, "output_dtype": 21, "precision": 23]

    /// Refuses attributes the model's opset does not have yet and values we cannot honour.
    static func checkAttributes(_ ctx: NodeContext) throws {
        for (name, since) in attributeOpsets where ctx.has(name) && ctx.opset < since {
            throw OpError.attribute(name, "exists from opset \(since); this model imports opset \(ctx.opset)")
        }
        guard try ctx.int("block_size", default: 0) >= 0 else { throw OpError.attribute("block_size", "must not be negative") }
        // precision (23): 0 means the input's type; 1 (FLOAT) is what we compute in anyway.
        let precision = try ctx.int("precision", default: 0)
        guard precision == 0 || precision == 1 else {
            throw OpError.attribute("precision", "only float (1) is supported, got \(precision)")
        }
    }

    /// ONNX TensorProto data type codes of the integer types these ops produce.
    static func dtype(onnxCode code: Int) -> DType? {
        [2: DType.u8, 3: .i8, 4: .u16, 5: .i16, 6: .i32, 1: .f32, 10: .f16][code]
    }

    static func range(of dtype: DType) -> (min: Int, max: Int)? {
        switch dtype {
        case .u8: (0, 255)
        case .i8: (-128, 127)
        case .u16: (0, 65535)
        case .i16: (-32768, 32767)
        default: nil
        }
    }

    /// The values of an integer tensor as Int32 (quantized data and zero points).
    static func int32s(_ t: Tensor, input: Int) throws -> [Int32] {
        switch t.dtype {
        case .u8: return try t.scalars(as: UInt8.self).map { Int32($0) }
        case .i8: return try t.scalars(as: Int8.self).map { Int32($0) }
        case .u16: return try t.scalars(as: UInt16.self).map { Int32($0) }
        case .i16: return try t.scalars(as: Int16.self).map { Int32($0) }
        case .i32: return try t.scalars(as: Int32.self)
        default: throw OpError.input(input, "expected a quantized integer tensor, got \(t.dtype)")
        }
    }

    /// Float values of an f32 or f16 tensor (data and scales).
    static func floats(_ t: Tensor, input: Int) throws -> [Float] {
        switch t.dtype {
        case .f32: return try t.scalars(as: Float.self)
        case .f16: return try t.converted(to: .f32).scalars(as: Float.self)
        default: throw OpError.input(input, "expected f32 or f16, got \(t.dtype)")
        }
    }

    /// A quantized tensor of `dtype` from values already within its range.
    static func quantizedTensor(_ values: [Int32], shape: Shape, dtype: DType) throws -> Tensor {
        switch dtype {
        case .u8: return try Tensor(shape: shape, scalars: values.map { UInt8(truncatingIfNeeded: $0) })
        case .i8: return try Tensor(shape: shape, scalars: values.map { Int8(truncatingIfNeeded: $0) })
        case .u16: return try Tensor(shape: shape, scalars: values.map { UInt16(truncatingIfNeeded: $0) })
        case .i16: return try Tensor(shape: shape, scalars: values.map { Int16(truncatingIfNeeded: $0) })
        default: throw OpError.unsupported("quantizing to \(dtype)")
        }
    }

    /// round_half_to_even(v) + zeroPoint saturated to [qmin, qmax], clamping before rounding
    /// like ORT's MLAS kernel (so NaN becomes qmin).
    @inline(__always)
    static func quantize(_ v: Float, zeroPoint: Int32, min qmin: Int, max qmax: Int) -> Int32 {
        let low = Float(qmin - Int(zeroPoint)), high = Float(qmax - Int(zeroPoint))
        let clamped = v >= low ? (v <= high ? v : high) : low
        return Int32(clamped.rounded(.toNearestOrEven)) + zeroPoint
    }
}
