/// Everything that can go wrong building, converting or (de)serializing a tensor.
///
/// Each case carries enough context for a user to act on: the file, the header field, the
/// offending dims or byte counts.
public enum TensorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A dimension is negative.
    case negativeDimension(dims: [Int])
    /// The product of the dims (or the byte count) does not fit in `Int`.
    case elementCountOverflow(dims: [Int])
    /// The tensor would need more memory than `Tensor.maximumByteCount`.
    case tooLarge(dims: [Int], byteCount: Int)
    /// The storage does not hold exactly `elementCount * dtype.byteSize` bytes.
    case byteCountMismatch(dtype: DType, dims: [Int], expected: Int, actual: Int)
    /// Typed access with a Swift type that does not match the tensor's dtype.
    case dtypeMismatch(expected: DType, actual: DType)
    /// A reshape that changes the element count.
    case reshapeMismatch(from: [Int], to: [Int])
    /// A `bool` tensor holds a byte other than 0 or 1.
    case invalidBool(byteOffset: Int)
    case unsupportedConversion(from: DType, to: DType)
    /// A malformed or unsupported `.npy` file; `field` names the header part at fault.
    case npy(file: String, field: String, message: String)
    /// Reading or writing a file failed.
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case .negativeDimension(let dims):
            "shape \(dims) has a negative dimension"
        case .elementCountOverflow(let dims):
            "shape \(dims) has more elements than fit in a 64-bit count"
        case .tooLarge(let dims, let byteCount):
            "shape \(dims) needs \(byteCount) bytes, more than the \(Tensor.maximumByteCount)-byte limit"
        case .byteCountMismatch(let dtype, let dims, let expected, let actual):
            "a \(dtype) tensor of shape \(dims) needs \(expected) bytes, got \(actual)"
        case .dtypeMismatch(let expected, let actual):
            "tensor has dtype \(actual), accessed as \(expected)"
        case .reshapeMismatch(let from, let to):
            "cannot reshape \(from) to \(to): element counts differ"
        case .invalidBool(let offset):
            "bool tensor has a byte other than 0 or 1 at offset \(offset)"
        case .unsupportedConversion(let from, let to):
            "conversion from \(from) to \(to) is not supported"
        case .npy(let file, let field, let message):
            "\(file): npy \(field): \(message)"
        case .io(let path, let message):
            "\(path): \(message)"
        }
    }
}
