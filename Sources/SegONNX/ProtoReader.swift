/// Protobuf wire types (the low 3 bits of a field key).
enum WireType: Int {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
}

/// A cursor over one protobuf message inside a shared byte buffer.
///
/// Sub-message readers share the buffer (no copy) and bound themselves to the message's range,
/// so a length prefix can never make a nested decoder read past its parent. Typed reads check
/// the current field's wire type; repeated scalars accept both packed and unpacked encodings
/// as the protobuf spec requires of parsers.
struct ProtoReader {
    static let maximumDepth = 100  // protobuf's own default recursion limit

    let bytes: [UInt8]
    let message: String
    let depth: Int
    private(set) var offset: Int
    private let end: Int

    /// Field number and wire type of the field `next()` returned last.
    private(set) var field = 0
    private(set) var wireType = WireType.varint
    private var keyOffset = 0

    init(bytes: [UInt8], message: String) {
        self.init(bytes: bytes, range: 0..<bytes.count, message: message, depth: 0)
    }

    private init(bytes: [UInt8], range: Range<Int>, message: String, depth: Int) {
        self.bytes = bytes
        self.message = message
        self.depth = depth
        self.offset = range.lowerBound
        self.end = range.upperBound
    }

    // MARK: - Fields

    /// Advances to the next field and returns its number, or nil at the end of the message.
    mutating func next() throws(ONNXError) -> Int? {
        guard offset < end else { return nil }
        keyOffset = offset
        let key = try rawVarint()
        let number = key >> 3
        guard number >= 1, number <= 0x1FFF_FFFF, let type = WireType(rawValue: Int(key & 7)) else {
            throw .invalidKey(message: message, offset: keyOffset, key: key)
        }
        field = Int(number)
        wireType = type
        return field
    }

    /// Skips the current field's value (unknown fields, fields SegSlim does not keep).
    mutating func skip() throws(ONNXError) {
        switch wireType {
        case .varint: _ = try rawVarint()
        case .fixed64: try advance(8)
        case .fixed32: try advance(4)
        case .lengthDelimited: _ = try rawLengthDelimited()
        case .startGroup: try skipGroup(number: field)
        case .endGroup: throw .invalidKey(message: message, offset: keyOffset, key: UInt64(field << 3 | 4))
        }
    }

    /// Deprecated proto2 groups: skip nested fields until the matching end-group key.
    private mutating func skipGroup(number: Int) throws(ONNXError) {
        guard depth < ProtoReader.maximumDepth else {
            throw .nestingTooDeep(message: message, offset: keyOffset, limit: ProtoReader.maximumDepth)
        }
        var inner = ProtoReader(bytes: bytes, range: offset..<end, message: message, depth: depth + 1)
        while try inner.next() != nil {
            if inner.wireType == .endGroup {
                guard inner.field == number else {
                    throw .invalidKey(message: message, offset: inner.keyOffset, key: UInt64(inner.field << 3 | 4))
                }
                offset = inner.offset
                return
            }
            try inner.skip()
        }
        throw .truncated(message: message, offset: end)
    }

    // MARK: - Scalars

    mutating func uint64() throws(ONNXError) -> UInt64 {
        try expect(.varint, "varint")
        return try rawVarint()
    }

    mutating func int64() throws(ONNXError) -> Int64 { Int64(bitPattern: try uint64()) }

    /// int32 and enum fields: negative values are sign-extended to 10-byte varints on the
    /// wire; keep the low 32 bits, as protobuf parsers do.
    mutating func int32() throws(ONNXError) -> Int32 { Int32(truncatingIfNeeded: try uint64()) }

    mutating func int() throws(ONNXError) -> Int { Int(truncatingIfNeeded: try int64()) }

    mutating func bool() throws(ONNXError) -> Bool { try uint64() != 0 }

    /// sint32/sint64 (zigzag): 0, -1, 1, -2 ... are encoded as 0, 1, 2, 3 ... so small negative
    /// numbers stay short. onnx.proto declares none today; kept for completeness of the codec.
    mutating func sint64() throws(ONNXError) -> Int64 { ProtoReader.zigzagDecode(try uint64()) }

    static func zigzagDecode(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }

    mutating func float() throws(ONNXError) -> Float {
        try expect(.fixed32, "fixed32 (float)")
        return Float(bitPattern: try rawFixed32())
    }

    mutating func double() throws(ONNXError) -> Double {
        try expect(.fixed64, "fixed64 (double)")
        return Double(bitPattern: try rawFixed64())
    }

    /// The byte range of a length-delimited field, without copying.
    mutating func bytesRange() throws(ONNXError) -> Range<Int> {
        try expect(.lengthDelimited, "length-delimited bytes")
        return try rawLengthDelimited()
    }

    mutating func data() throws(ONNXError) -> [UInt8] { Array(bytes[try bytesRange()]) }

    mutating func string() throws(ONNXError) -> String {
        let range = try bytesRange()
        guard let text = String(validating: bytes[range], as: UTF8.self) else {
            throw .invalidUTF8(message: message, field: field, offset: range.lowerBound)
        }
        return text
    }

    /// A reader for the embedded message in the current field.
    mutating func message(_ name: String) throws(ONNXError) -> ProtoReader {
        try expect(.lengthDelimited, "embedded message \(name)")
        let range = try rawLengthDelimited()
        guard depth + 1 < ProtoReader.maximumDepth else {
            throw .nestingTooDeep(message: name, offset: range.lowerBound, limit: ProtoReader.maximumDepth)
        }
        return ProtoReader(bytes: bytes, range: range, message: name, depth: depth + 1)
    }

    // MARK: - Repeated scalars (packed or not)

    mutating func appendVarints(to values: inout [UInt64]) throws(ONNXError) {
        if wireType == .lengthDelimited {
            let range = try rawLengthDelimited()
            var packed = ProtoReader(bytes: bytes, range: range, message: message, depth: depth)
            while packed.offset < range.upperBound { values.append(try packed.rawVarint()) }
        } else {
            values.append(try uint64())
        }
    }

    mutating func appendInt64s(to values: inout [Int64]) throws(ONNXError) {
        if wireType == .lengthDelimited {
            let range = try rawLengthDelimited()
            var packed = ProtoReader(bytes: bytes, range: range, message: message, depth: depth)
            values.reserveCapacity(values.count + range.count / 2)
            while packed.offset < range.upperBound { values.append(Int64(bitPattern: try packed.rawVarint())) }
        } else {
            values.append(try int64())
        }
    }

    mutating func appendFloats(to values: inout [Float]) throws(ONNXError) {
        if wireType == .lengthDelimited {
            values += try packedFixed(Float.self, width: 4, name: "packed floats")
        } else {
            values.append(try float())
        }
    }

    mutating func appendDoubles(to values: inout [Double]) throws(ONNXError) {
        if wireType == .lengthDelimited {
            values += try packedFixed(Double.self, width: 8, name: "packed doubles")
        } else {
            values.append(try double())
        }
    }

    /// Packed fixed-width values are little-endian like the host, so one memcpy does it.
    private mutating func packedFixed<T: BitwiseCopyable>(_: T.Type, width: Int, name: String) throws(ONNXError) -> [T] {
        let range = try rawLengthDelimited()
        guard range.count % width == 0 else {
            throw .invalidModel("\(message) field \(field): \(name) of \(range.count) bytes at byte \(range.lowerBound) is not a multiple of \(width)")
        }
        let count = range.count / width
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[range]))
            }
            initialized = count
        }
    }

    // MARK: - Wire primitives

    private func expect(_ type: WireType, _ description: String) throws(ONNXError) {
        guard wireType == type else {
            throw .wrongWireType(message: message, field: field, expected: description, actual: wireType.rawValue, offset: keyOffset)
        }
    }

    private mutating func advance(_ count: Int) throws(ONNXError) {
        guard count <= end - offset else { throw .truncated(message: message, offset: offset) }
        offset += count
    }

    mutating func rawVarint() throws(ONNXError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else { throw .truncated(message: message, offset: start) }
            let byte = bytes[offset]
            offset += 1
            // The 10th byte holds bit 63 only; higher bits are discarded as protobuf does.
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
            guard shift < 70 else { throw .malformedVarint(message: message, offset: start) }
        }
    }

    private mutating func rawFixed32() throws(ONNXError) -> UInt32 {
        let start = offset
        try advance(4)
        return UInt32(bytes[start]) | UInt32(bytes[start + 1]) << 8 | UInt32(bytes[start + 2]) << 16 | UInt32(bytes[start + 3]) << 24
    }

    private mutating func rawFixed64() throws(ONNXError) -> UInt64 {
        let low = UInt64(try rawFixed32())
        return low | UInt64(try rawFixed32()) << 32
    }

    private mutating func rawLengthDelimited() throws(ONNXError) -> Range<Int> {
        let lengthOffset = offset
        let length = try rawVarint()
        guard length <= UInt64(end - offset) else { throw .truncated(message: message, offset: lengthOffset) }
        let start = offset
        offset += Int(length)
        return start..<offset
    }
}
