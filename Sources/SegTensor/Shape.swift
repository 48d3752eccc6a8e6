/// A concrete tensor shape: non-negative dims whose product fits in `Int`.
///
/// Validated once at construction, so `elementCount` is always safe to use for allocation
/// arithmetic. A rank-0 shape (`[]`) is a scalar with one element.
public struct Shape: Sendable, Hashable, CustomStringConvertible {
    public let dims: [Int]
    public let elementCount: Int

    public init(_ dims: [Int]) throws(TensorError) {
        var count = 1
        var overflowed = false
        for dim in dims {
            guard dim >= 0 else { throw .negativeDimension(dims: dims) }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            // Keep scanning after an overflow: a later zero dim makes the count 0, and a later
            // negative dim is the more useful error.
            if overflow { overflowed = true } else { count = product }
        }
        if overflowed && !dims.contains(0) { throw .elementCountOverflow(dims: dims) }
        self.dims = dims
        self.elementCount = dims.contains(0) ? 0 : count
    }

    /// The scalar shape `[]`.
    public static let scalar = Shape(uncheckedDims: [], elementCount: 1)

    private init(uncheckedDims dims: [Int], elementCount: Int) {
        self.dims = dims
        self.elementCount = elementCount
    }

    public var rank: Int { dims.count }

    public subscript(axis: Int) -> Int { dims[axis] }

    /// `elementCount * byteSize`, checked for overflow.
    public func byteCount(for dtype: DType) throws(TensorError) -> Int {
        let (bytes, overflow) = elementCount.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw .elementCountOverflow(dims: dims) }
        return bytes
    }

    /// Row-major (C order) strides in elements.
    public var strides: [Int] {
        var strides = [Int](repeating: 1, count: dims.count)
        var running = 1
        for axis in dims.indices.reversed() {
            strides[axis] = running
            running &*= Swift.max(dims[axis], 1)
        }
        return strides
    }

    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}
