/// Element type of a tensor.
///
/// The first seven cases are the ones SegSlim computes with (DESIGN.md); the others exist so
/// that `.npy` files and ONNX initializers of those types can be read, inspected and written
/// back. All multi-byte types are stored little-endian, which is also the host order on every
/// platform SegSlim targets.
public enum DType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case f32, f16, i8, u8, i32, i64, bool
    case f64, u16, i16, u32, u64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .i8, .u8, .bool: 1
        case .f16, .u16, .i16: 2
        case .f32, .i32, .u32: 4
        case .f64, .i64, .u64: 8
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .f16, .f32, .f64: true
        default: false
        }
    }

    public var description: String { rawValue }
}
