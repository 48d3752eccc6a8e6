/// A Swift type whose in-memory layout is exactly one element of a `DType`.
///
/// Typed access to tensor storage rebinds the bytes to `Self`, so conformers must be trivial
/// types with the dtype's size and no padding.
public protocol TensorScalar: Sendable, Equatable, BitwiseCopyable {
    static var dtype: DType { get }
}

extension Float: TensorScalar { public static var dtype: DType { .f32 } }
extension Double: TensorScalar { public static var dtype: DType { .f64 } }
extension Int8: TensorScalar { public static var dtype: DType { .i8 } }
extension UInt8: TensorScalar { public static var dtype: DType { .u8 } }
extension Int16: TensorScalar { public static var dtype: DType { .i16 } }
extension UInt16: TensorScalar { public static var dtype: DType { .u16 } }
extension Int32: TensorScalar { public static var dtype: DType { .i32 } }
extension UInt32: TensorScalar { public static var dtype: DType { .u32 } }
extension Int64: TensorScalar { public static var dtype: DType { .i64 } }
extension UInt64: TensorScalar { public static var dtype: DType { .u64 } }
/// One byte, 0 or 1; `Tensor` rejects any other byte in bool storage.
extension Bool: TensorScalar { public static var dtype: DType { .bool } }

/// An IEEE 754 binary16 value, stored as its bit pattern.
///
/// Swift's own `Float16` is unavailable on some supported platforms (macOS on x86_64), so the
/// conversions are done by hand (see `Half+Conversion.swift`) and behave the same everywhere.
public struct Half: TensorScalar, Hashable, CustomStringConvertible {
    public static var dtype: DType { .f16 }

    public var bitPattern: UInt16

    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// Rounds to the nearest binary16 value, ties to even; overflow becomes ±infinity.
    public init(_ value: Float) { self.bitPattern = Half.bits(from: value) }

    public var floatValue: Float { Half.float(from: bitPattern) }

    public var description: String { floatValue.description }
}

extension Float {
    /// Exact widening of a binary16 value.
    public init(_ half: Half) { self = half.floatValue }
}
