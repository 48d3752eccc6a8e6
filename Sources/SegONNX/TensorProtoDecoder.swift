import SegTensor

/// `TensorProto` → `Tensor`.
///
/// Data may arrive in `raw_data` (copied once, no per-element work), in external files, or in
/// the typed repeated fields: `float_data` (f32), `double_data` (f64), `int64_data` (i64),
/// `uint64_data` (u32, u64) and `int32_data` (i32 and everything narrower, f16 as bit
/// patterns, bool as 0/nonzero). String tensors, segments and the sub-byte types are refused.
struct TensorProtoDecoder {
    var dims: [Int64] = []
    var dataType: Int32 = 0
    var name = ""
    var rawData: Range<Int>?
    var floatData: [Float] = []
    var doubleData: [Double] = []
    var int64Data: [Int64] = []
    var varintData: [UInt64] = []  // int32_data and uint64_data both arrive as varints
    var varintField = 0
    var hasStrings = false
    var hasSegment = false
    var external: [String: String] = [:]
    var isExternal = false

    static func decode(_ reader: ProtoReader, context: DecodeContext, role: @autoclosure () -> String) throws(ONNXError) -> (name: String, tensor: Tensor) {
        var r = reader
        var d = TensorProtoDecoder()
        while let field = try r.next() {
            switch field {
            case 1: try r.appendInt64s(to: &d.dims)
            case 2: d.dataType = try r.int32()
            case 3: d.hasSegment = true; try r.skip()
            case 4: try r.appendFloats(to: &d.floatData)
            case 5, 11:
                if d.varintField != 0, d.varintField != field {
                    throw .invalidModel("tensor '\(d.name)' has both int32_data and uint64_data")
                }
                d.varintField = field
                try r.appendVarints(to: &d.varintData)
            case 6: d.hasStrings = true; try r.skip()
            case 7: try r.appendInt64s(to: &d.int64Data)
            case 8: d.name = try r.string()
            case 9: d.rawData = try r.bytesRange()
            case 10: try r.appendDoubles(to: &d.doubleData)
            case 13:
                let (key, value) = try StringEntry.decode(try r.message("StringStringEntryProto"))
                d.external[key] = value
            case 14: d.isExternal = try r.int32() == 1
            default: try r.skip()  // doc_string, metadata_props
            }
        }
        return (d.name, try d.makeTensor(bytes: reader.bytes, context: context, role: role()))
    }

    private func makeTensor(bytes: [UInt8], context: DecodeContext, role: String) throws(ONNXError) -> Tensor {
        let what = name.isEmpty ? role : "\(role) '\(name)'"
        if dataType == 8 || hasStrings {
            throw .unsupported("\(what) is a STRING tensor, which SegSlim does not support")
        }
        let dtype = try ONNXDataType.require(dataType, for: what)
        if hasSegment { throw .unsupported("\(what) is stored in segments, which SegSlim does not support") }
        let shape: Shape
        let byteCount: Int
        do {
            shape = try Shape(dims.map { Int(truncatingIfNeeded: $0) })
            byteCount = try shape.byteCount(for: dtype)
        } catch {
            throw .invalidModel("\(what) has invalid dims \(dims): \(error.description)")
        }

        let storage: [UInt8]
        if isExternal {
            storage = try context.externalData(tensor: name, entries: external, byteCount: byteCount)
        } else if let rawData {
            guard rawData.count == byteCount else {
                throw .invalidModel("\(what): raw_data holds \(rawData.count) bytes, but dims \(dims) of \(dtype) need \(byteCount)")
            }
            storage = Array(bytes[rawData])
        } else {
            storage = try typedStorage(dtype: dtype, count: shape.elementCount, what: what)
        }
        do {
            return try Tensor(dtype: dtype, shape: shape, bytes: storage)
        } catch {
            throw .invalidModel("\(what): \(error.description)")
        }
    }

    private func typedStorage(dtype: DType, count: Int, what: String) throws(ONNXError) -> [UInt8] {
        let fieldName: String
        let available: Int
        switch dtype {
        case .f32: (fieldName, available) = ("float_data", floatData.count)
        case .f64: (fieldName, available) = ("double_data", doubleData.count)
        case .i64: (fieldName, available) = ("int64_data", int64Data.count)
        case .u32, .u64: (fieldName, available) = ("uint64_data", varintField == 11 ? varintData.count : 0)
        default: (fieldName, available) = ("int32_data", varintField == 5 ? varintData.count : 0)
        }
        guard available == count else {
            throw .invalidModel("\(what): \(fieldName) holds \(available) values, but the dims \(dims) need \(count)")
        }
        switch dtype {
        case .f32: return floatData.withUnsafeBytes { Array($0) }
        case .f64: return doubleData.withUnsafeBytes { Array($0) }
        case .i64: return int64Data.withUnsafeBytes { Array($0) }
        case .u64: return varintData.withUnsafeBytes { Array($0) }
        case .u32: return narrowed(UInt32.self)
        case .i32: return narrowed(Int32.self)
        case .i16: return narrowed(Int16.self)
        case .u16, .f16: return narrowed(UInt16.self)
        case .i8: return narrowed(Int8.self)
        case .u8: return narrowed(UInt8.self)
        case .bool: return varintData.map { $0 != 0 ? 1 : 0 }
        }
    }

    /// Keeps the low bits of each varint, the way the typed fields encode narrow types.
    private func narrowed<T: FixedWidthInteger>(_: T.Type) -> [UInt8] {
        varintData.map { T(truncatingIfNeeded: $0) }.withUnsafeBytes { Array($0) }
    }
}

/// `StringStringEntryProto`: key 1, value 2.
enum StringEntry {
    static func decode(_ reader: ProtoReader) throws(ONNXError) -> (String, String) {
        var r = reader
        var key = "", value = ""
        while let field = try r.next() {
            switch field {
            case 1: key = try r.string()
            case 2: value = try r.string()
            default: try r.skip()
            }
        }
        return (key, value)
    }
}
