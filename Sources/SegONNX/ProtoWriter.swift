/// Appends protobuf wire encoding to a byte buffer. Fields are written by the caller in
/// field-number order, which is what the reference (C++/Python) serializers produce.
struct ProtoWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, _ type: WireType) {
        varint(UInt64(field) << 3 | UInt64(type.rawValue))
    }

    /// int64/int32/enum: negative numbers become 10-byte two's-complement varints.
    mutating func int(_ field: Int, _ value: Int) {
        key(field, .varint)
        varint(UInt64(bitPattern: Int64(value)))
    }

    /// sint64 (zigzag) field.
    mutating func sint(_ field: Int, _ value: Int64) {
        key(field, .varint)
        varint(ProtoWriter.zigzagEncode(value))
    }

    static func zigzagEncode(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    mutating func uint(_ field: Int, _ value: UInt64) {
        key(field, .varint)
        varint(value)
    }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, .fixed32)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
    }

    mutating func double(_ field: Int, _ value: Double) {
        key(field, .fixed64)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
    }

    mutating func data(_ field: Int, _ value: [UInt8]) {
        key(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func string(_ field: Int, _ value: String) {
        key(field, .lengthDelimited)
        varint(UInt64(value.utf8.count))
        bytes += value.utf8
    }

    /// Writes the string only when non-empty (proto2 optional left unset).
    mutating func stringIfSet(_ field: Int, _ value: String) {
        if !value.isEmpty { string(field, value) }
    }

    mutating func message(_ field: Int, _ build: (inout ProtoWriter) throws -> Void) rethrows {
        var inner = ProtoWriter()
        try build(&inner)
        data(field, inner.bytes)
    }

    /// Packed repeated varints (`[packed = true]` fields).
    mutating func packedInts(_ field: Int, _ values: [Int]) {
        guard !values.isEmpty else { return }
        var inner = ProtoWriter()
        for v in values { inner.varint(UInt64(bitPattern: Int64(v))) }
        data(field, inner.bytes)
    }
}
