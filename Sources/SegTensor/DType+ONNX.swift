/// ONNX `TensorProto.DataType` codes of the dtypes SegSlim handles: one table for the codec,
/// Cast's `to`, and the quantization ops' `output_dtype`.
extension DType {
    /// The dtype for an ONNX data type code, nil for types SegSlim does not handle
    /// (strings, bfloat16, float8, 4-bit, complex).
    public init?(onnxCode code: Int) {
        switch code {
        case 1: self = .f32
        case 2: self = .u8
        case 3: self = .i8
        case 4: self = .u16
        case 5: self = .i16
        case 6: self = .i32
        case 7: self = .i64
        case 9: self = .bool
        case 10: self = .f16
        case 11: self = .f64
        case 12: self = .u32
        case 13: self = .u64
        default: return nil
        }
    }

    /// The ONNX data type code.
    public var onnxCode: Int {
        switch self {
        case .f32: 1
        case .u8: 2
        case .i8: 3
        case .u16: 4
        case .i16: 5
        case .i32: 6
        case .i64: 7
        case .bool: 9
        case .f16: 10
        case .f64: 11
        case .u32: 12
        case .u64: 13
        }
    }
}
