#if _endian(big)
#error("SegTensor stores tensors little-endian in host order; big-endian hosts are not supported")
#endif

/// A dense tensor: dtype, shape and contiguous row-major (C order) little-endian storage.
///
/// A value type with copy-on-write storage (`[UInt8]`): copies are cheap until one is mutated.
/// Typed access goes through `withUnsafeBufferPointer(as:)` / `scalars(as:)`, which check the
/// Swift type against `dtype`. Array storage is allocated with at least 16-byte alignment, so
/// rebinding it to any `TensorScalar` is aligned.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// Allocation guard for tensors whose size comes from a shape rather than from bytes that
    /// already exist (e.g. `Tensor(zeros:shape:)` with absurd dims from a file).
    public static let maximumByteCount = 1 << 36

    public let dtype: DType
    public private(set) var shape: Shape
    public private(set) var bytes: [UInt8]

    /// Wraps existing little-endian bytes; fails unless there are exactly
    /// `shape.elementCount * dtype.byteSize` of them (and, for bool, each is 0 or 1).
    public init(dtype: DType, shape: Shape, bytes: [UInt8]) throws(TensorError) {
        let expected = try shape.byteCount(for: dtype)
        guard bytes.count == expected else {
            throw .byteCountMismatch(dtype: dtype, dims: shape.dims, expected: expected, actual: bytes.count)
        }
        if dtype == .bool, let bad = bytes.firstIndex(where: { $0 > 1 }) {
            throw .invalidBool(byteOffset: bad)
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public init<T: TensorScalar>(shape: Shape, scalars: [T]) throws(TensorError) {
        guard scalars.count == shape.elementCount else {
            throw .byteCountMismatch(dtype: T.dtype, dims: shape.dims,
                                     expected: shape.elementCount * T.dtype.byteSize,
                                     actual: scalars.count * T.dtype.byteSize)
        }
        self.dtype = T.dtype
        self.shape = shape
        self.bytes = scalars.withUnsafeBytes { [UInt8]($0) }
    }

    /// Convenience for literals in code and tests: `try Tensor(dims: [2, 2], scalars: [1, 2, 3, 4] as [Float])`.
    public init<T: TensorScalar>(dims: [Int], scalars: [T]) throws(TensorError) {
        try self.init(shape: Shape(dims), scalars: scalars)
    }

    /// A rank-0 tensor.
    public init<T: TensorScalar>(scalar: T) {
        self.dtype = T.dtype
        self.shape = .scalar
        self.bytes = withUnsafeBytes(of: scalar) { [UInt8]($0) }
    }

    /// All-zero storage (0, +0.0, false).
    public init(zeros dtype: DType, shape: Shape) throws(TensorError) {
        let count = try shape.byteCount(for: dtype)
        guard count <= Tensor.maximumByteCount else { throw .tooLarge(dims: shape.dims, byteCount: count) }
        self.dtype = dtype
        self.shape = shape
        self.bytes = [UInt8](repeating: 0, count: count)
    }

    /// For callers inside the module that have already established the byte count.
    init(unchecked dtype: DType, shape: Shape, bytes: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public var elementCount: Int { shape.elementCount }
    public var byteCount: Int { bytes.count }
    public var dims: [Int] { shape.dims }

    // MARK: - Typed access

    public func withUnsafeBufferPointer<T: TensorScalar, R>(
        as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R
    ) throws -> R {
        guard T.dtype == dtype else { throw TensorError.dtypeMismatch(expected: T.dtype, actual: dtype) }
        return try bytes.withUnsafeBytes { raw in
            try raw.withMemoryRebound(to: T.self) { try body($0) }
        }
    }

    /// Mutable typed access; copies the storage first if it is shared (copy-on-write).
    /// For bool tensors the body must only store `true`/`false`, which Swift guarantees.
    public mutating func withUnsafeMutableBufferPointer<T: TensorScalar, R>(
        as type: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
    ) throws -> R {
        guard T.dtype == dtype else { throw TensorError.dtypeMismatch(expected: T.dtype, actual: dtype) }
        return try bytes.withUnsafeMutableBytes { raw in
            try raw.withMemoryRebound(to: T.self) { try body($0) }
        }
    }

    /// A copy of the elements as a Swift array.
    public func scalars<T: TensorScalar>(as type: T.Type) throws(TensorError) -> [T] {
        guard T.dtype == dtype else { throw .dtypeMismatch(expected: T.dtype, actual: dtype) }
        return bytes.withUnsafeBytes { raw in
            raw.withMemoryRebound(to: T.self) { [T]($0) }
        }
    }

    // MARK: - Shape changes

    /// Same storage, new shape with the same element count.
    public func reshaped(to newShape: Shape) throws(TensorError) -> Tensor {
        guard newShape.elementCount == shape.elementCount else {
            throw .reshapeMismatch(from: shape.dims, to: newShape.dims)
        }
        var copy = self
        copy.shape = newShape
        return copy
    }

    public var description: String { "Tensor<\(dtype)>\(shape)" }
}
