import SegGraph
import SegTensor

// Helpers shared by the tensor family. Most of these ops only move elements around, so they
// are written once over raw element bytes (any dtype, bool and f16 included) and an index map:
// output element i is input element map[i].

extension TensorOperators {
    /// Marks a padded position in an axis offset table: any sum containing it stays negative
    /// (offsets are bounded by the 2^36-byte tensor limit, ranks by a few dozen).
    static let padOffset = -(1 << 50)

    /// The values of an integer tensor (shapes, axes, indices), as `Int`.
    static func integers(_ t: Tensor, input: Int) throws -> [Int] {
        switch t.dtype {
        case .i64: return try t.scalars(as: Int64.self).map { Int($0) }
        case .i32: return try t.scalars(as: Int32.self).map { Int($0) }
        case .i16: return try t.scalars(as: Int16.self).map { Int($0) }
        case .i8: return try t.scalars(as: Int8.self).map { Int($0) }
        case .u8: return try t.scalars(as: UInt8.self).map { Int($0) }
        case .u16: return try t.scalars(as: UInt16.self).map { Int($0) }
        case .u32: return try t.scalars(as: UInt32.self).map { Int($0) }
        case .u64: return try t.scalars(as: UInt64.self).map { Int(clamping: $0) }
        default: throw OpError.input(input, "expected an integer tensor, got \(t.dtype)")
        }
    }

    /// The single value of a scalar (or one-element) integer input.
    static func integer(_ t: Tensor, input: Int) throws -> Int {
        let values = try integers(t, input: input)
        guard values.count == 1 else { throw OpError.input(input, "expected a single value, got shape \(t.shape)") }
        return values[0]
    }

    /// A validated output shape whose storage fits the tensor size limit, checked before
    /// anything of that size is allocated.
    static func outputShape(_ dims: [Int], _ dtype: DType) throws -> Shape {
        let shape = try Shape(dims)
        let bytes = try shape.byteCount(for: dtype)
        guard bytes <= Tensor.maximumByteCount else { throw TensorError.tooLarge(dims: dims, byteCount: bytes) }
        return shape
    }

    /// Normalises an index along an axis of size `size` (negative counts from the end);
    /// names the input and the value when it is out of range.
    static func wrapIndex(_ value: Int, size: Int, input: Int) throws -> Int {
        let i = value < 0 ? value + size : value
        guard i >= 0 && i < size else {
            throw OpError.input(input, "index \(value) is out of range for an axis of size \(size)")
        }
        return i
    }

    // MARK: - Moving elements

    /// A tensor of `shape` whose element i is element `map[i]` of `source`; a negative entry
    /// takes the single element of `fill` (or zero when there is none).
    static func gather(_ source: Tensor, map: [Int], shape: Shape, fill: Tensor? = nil) throws -> Tensor {
        guard map.count == shape.elementCount else {
            throw OpError.other("internal: index map has \(map.count) entries for shape \(shape)")
        }
        if let fill, fill.dtype != source.dtype || fill.elementCount != 1 {
            throw OpError.other("internal: fill value must be one \(source.dtype) element")
        }
        let size = source.dtype.byteSize
        let count = source.elementCount
        var out = [UInt8](repeating: 0, count: map.count * size)
        let fillBytes = fill?.bytes ?? [UInt8](repeating: 0, count: size)
        func copy<T: BitwiseCopyable>(_: T.Type) throws {
            try source.bytes.withUnsafeBytes { src in
                try out.withUnsafeMutableBytes { dst in
                    let fillValue = fillBytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
                    for (i, s) in map.enumerated() {
                        if s < 0 {
                            dst.storeBytes(of: fillValue, toByteOffset: i * size, as: T.self)
                            continue
                        }
                        guard s < count else { throw OpError.other("internal: index \(s) outside a tensor of \(count) elements") }
                        dst.storeBytes(of: src.loadUnaligned(fromByteOffset: s * size, as: T.self), toByteOffset: i * size, as: T.self)
                    }
                }
            }
        }
        if !map.isEmpty {
            switch size {
            case 1: try copy(UInt8.self)
            case 2: try copy(UInt16.self)
            case 4: try copy(UInt32.self)
            default: try copy(UInt64.self)
            }
        }
        return try Tensor(dtype: source.dtype, shape: shape, bytes: out)
    }

    /// The flat source index of every output element in C order over `dims`, where the element
    /// at (i0, i1, ...) reads `offsets[0][i0] + offsets[1][i1] + ...` (negative: padding).
    /// One table per output axis expresses transpose, slice, tile, broadcast and pad alike.
    static func indexMap(dims: [Int], offsets: [[Int]]) -> [Int] {
        var map = [Int]()
        map.reserveCapacity(dims.reduce(1, *))
        let inner = dims.isEmpty ? [0] : offsets[dims.count - 1]
        forEachRow(dims: dims, offsets: offsets) { _, base, row in
            for i in 0..<row { let flat = base + inner[i]; map.append(flat < 0 ? -1 : flat) }
        }
        return map
    }

    /// Walks the output of `dims` in C order a row of its last axis at a time: `body(start,
    /// base, length)` gets the row's first output index and the sum of the outer axes' offsets
    /// (an element i of the row reads `base + offsets[last][i]`). A rank-0 output is one row of 1.
    static func forEachRow(dims: [Int], offsets: [[Int]], _ body: (Int, Int, Int) throws -> Void) rethrows {
        let total = dims.reduce(1, *)
        guard total > 0 else { return }
        let rank = dims.count, row = rank == 0 ? 1 : dims[rank - 1]
        var index = [Int](repeating: 0, count: max(rank - 1, 0))
        var base = (0..<max(rank - 1, 0)).reduce(0) { $0 + offsets[$1][0] }
        var start = 0
        while start < total {
            try body(start, base, row)
            start += row
            var axis = rank - 2
            while axis >= 0 {
                let i = index[axis]
                base -= offsets[axis][i]
                if i + 1 < dims[axis] {
                    index[axis] = i + 1
                    base += offsets[axis][i + 1]
                    break
                }
                index[axis] = 0
                base += offsets[axis][0]
                axis -= 1
            }
        }
    }

    /// `source` read through per-axis offset tables into a new tensor of `dims`: what `gather`
    /// of `indexMap(dims:offsets:)` gives, without the map (one `Int` per element, the cost of
    /// Transpose, Slice, Tile and Pad on large f64/int tensors): the outer axes are walked with
    /// a running base and each row of the last axis reads `base + offsets[last][i]`.
    static func remap(_ source: Tensor, dims: [Int], offsets: [[Int]], fill: Tensor? = nil) throws -> Tensor {
        let shape = try outputShape(dims, source.dtype)
        if let fill, fill.dtype != source.dtype || fill.elementCount != 1 {
            throw OpError.other("internal: fill value must be one \(source.dtype) element")
        }
        guard offsets.count == dims.count, zip(offsets, dims).allSatisfy({ $0.count >= $1 }) else {
            throw OpError.other("internal: offset tables \(offsets.map(\.count)) do not cover dims \(dims)")
        }
        let size = source.dtype.byteSize, count = source.elementCount, total = shape.elementCount
        var out = [UInt8](repeating: 0, count: total * size)
        guard total > 0 else { return try Tensor(dtype: source.dtype, shape: shape, bytes: out) }
        let fillBytes = fill?.bytes ?? [UInt8](repeating: 0, count: size)
        let rank = dims.count
        func copy<T: BitwiseCopyable>(_: T.Type) throws {
            try source.bytes.withUnsafeBytes { srcRaw in
                try out.withUnsafeMutableBytes { dstRaw in
                    let fillValue = fillBytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
                    let dst = dstRaw.baseAddress!.assumingMemoryBound(to: T.self)
                    let src = srcRaw.baseAddress.map { $0.assumingMemoryBound(to: T.self) }
                    let inner = rank == 0 ? [0] : offsets[rank - 1]
                    try forEachRow(dims: dims, offsets: offsets) { o, base, row in
                        for i in 0..<row {
                            let s = base + inner[i]
                            if s < 0 {
                                dst[o + i] = fillValue
                            } else {
                                guard s < count, let src else { throw OpError.other("internal: index \(s) outside a tensor of \(count) elements") }
                                dst[o + i] = src[s]
                            }
                        }
                    }
                }
            }
        }
        switch size {
        case 1: try copy(UInt8.self)
        case 2: try copy(UInt16.self)
        case 4: try copy(UInt32.self)
        default: try copy(UInt64.self)
        }
        return try Tensor(dtype: source.dtype, shape: shape, bytes: out)
    }

    /// `source` with its axes permuted: output axis d is input axis `perm[d]`.
    static func transposed(_ source: Tensor, perm: [Int]) throws -> Tensor {
        let strides = source.shape.strides
        let dims = perm.map { source.dims[$0] }
        let offsets = perm.map { axis in (0..<max(source.dims[axis], 1)).map { $0 * strides[axis] } }
        return try remap(source, dims: dims, offsets: offsets)
    }

    // MARK: - Inference

    /// The value of a constant integer input, when inference knows it.
    static func constantIntegers(_ value: InferredValue?) -> [Int]? {
        guard let t = value?.constant else { return nil }
        return try? integers(t, input: 0)
    }

    /// A 1-D type of known length (shape vectors, index lists).
    static func vector(_ dtype: DType, _ length: Int?) -> TensorType {
        TensorType(elementType: dtype, shape: [length.map { .value($0) } ?? .unknown])
    }

    static func type(_ dtype: DType?, _ shape: [Dimension]?) -> TensorType {
        TensorType(elementType: dtype, shape: shape)
    }

    /// Normalises an axis for inference; nil (rather than an error) when it is out of range,
    /// so the node's own run reports the problem with its data.
    static func inferAxis(_ axis: Int, rank: Int) -> Int? {
        let a = axis < 0 ? axis + rank : axis
        return a >= 0 && a < rank ? a : nil
    }
}

extension TensorOperators {
    /// The product of dims read from a model or tensor, nil on overflow or a negative dim.
    static func checkedProduct(_ dims: [Int]) -> Int? {
        var product = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            product = p
        }
        return product
    }
}
