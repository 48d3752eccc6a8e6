import SegTensor

/// `TensorProto.DataType` codes.
enum ONNXDataType {
    static func dtype(for code: Int32) -> DType? { DType(onnxCode: Int(code)) }

    static func code(for dtype: DType) -> Int { dtype.onnxCode }

    /// The ONNX spelling, for error messages about types SegSlim does not handle.
    static func name(of code: Int32) -> String {
        let names = [
            "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING", "BOOL",
            "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN",
            "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4", "FLOAT4E2M1", "FLOAT8E8M0",
            "UINT2", "INT2", "FLOAT6E2M3", "FLOAT6E3M2",
        ]
        return code >= 0 && Int(code) < names.count ? "\(names[Int(code)]) (\(code))" : "unknown (\(code))"
    }

    static func require(_ code: Int32, for what: @autoclosure () -> String) throws(ONNXError) -> DType {
        guard let dtype = dtype(for: code) else {
            throw .unsupported("\(what()) has element type \(name(of: code)), which SegSlim does not support")
        }
        return dtype
    }
}
