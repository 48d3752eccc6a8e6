import SegGraph
import SegTensor

// Comparisons (→ bool), boolean logic and Where, all with NumPy broadcasting.

extension ElementwiseOperators {
    enum Comparison: Sendable {
        case equal, less, greater, lessOrEqual, greaterOrEqual

        /// IEEE comparison: anything involving NaN is false.
        func holds<T: Comparable>(_ a: T, _ b: T) -> Bool {
            switch self {
            case .equal: a == b
            case .less: a < b
            case .greater: a > b
            case .lessOrEqual: a <= b
            case .greaterOrEqual: a >= b
            }
        }
    }

    static func compare(_ op: String, _ comparison: Comparison, versions: ClosedRange<Int>) -> OperatorDefinition {
        OperatorDefinition(op, versions: versions, infer: broadcastInfer(.bool)) { _, inputs in
            let a = try required(inputs, 0), b = try required(inputs, 1)
            guard a.dtype == b.dtype else { throw OpError.input(1, "\(op) inputs must share one dtype: \(a.dtype) and \(b.dtype)") }
            if let walked = try compareWalking(a, b, comparison) { return [walked] }
            let (shape, maps) = try broadcastMaps([a, b])
            func mask<T: Comparable>(_ x: [T], _ y: [T]) throws -> Tensor {
                try Tensor(shape: shape, scalars: maps[0].indices.map { comparison.holds(x[maps[0][$0]], y[maps[1][$0]]) })
            }
            if a.dtype.isFloatingPoint {
                return [try mask(try doubles(a, input: 0, op: op), try doubles(b, input: 1, op: op))]
            }
            if a.dtype == .bool, comparison == .equal {
                // false < true, so bools compare as 0/1.
                return [try mask(try a.scalars(as: Bool.self).map { $0 ? 1 : 0 }, try b.scalars(as: Bool.self).map { $0 ? 1 : 0 })]
            }
            guard let out = try visitInteger(a.dtype, CompareIntegers(a: a, b: b, maps: maps, shape: shape, comparison: comparison)) else {
                throw OpError.input(0, "\(op) does not take \(a.dtype)")
            }
            return [out]
        }
    }

    /// f32, f64, i32 and i64 comparisons by `BroadcastWalk` (comparing the values directly is
    /// comparing their exact Double widenings); nil for other dtypes.
    static func compareWalking(_ a: Tensor, _ b: Tensor, _ comparison: Comparison) throws -> Tensor? {
        let dims = try Broadcast.shape([a.dims, b.dims])
        let walk = BroadcastWalk([a.dims, b.dims], output: dims)
        func run<T: TensorScalar & Comparable>(_: T.Type) throws -> Tensor {
            try a.withUnsafeBufferPointer(as: T.self) { x in
                try b.withUnsafeBufferPointer(as: T.self) { y in
                    try Tensor.filled(Bool.self, dims: dims) { z in
                        guard let x = x.baseAddress, let y = y.baseAddress else { return }
                        walk.binary(x, y, into: z) { comparison.holds($0, $1) }
                    }
                }
            }
        }
        switch a.dtype {
        case .f32: return try run(Float.self)
        case .f64: return try run(Double.self)
        case .i32: return try run(Int32.self)
        case .i64: return try run(Int64.self)
        default: return nil
        }
    }

    struct CompareIntegers: IntegerVisitor {
        let a: Tensor, b: Tensor, maps: [[Int]], shape: Shape, comparison: Comparison
        func visit<T: FixedWidthInteger & TensorScalar>(_: T.Type) throws -> Tensor {
            let x = try a.scalars(as: T.self), y = try b.scalars(as: T.self)
            return try Tensor(shape: shape, scalars: maps[0].indices.map { comparison.holds(x[maps[0][$0]], y[maps[1][$0]]) })
        }
    }

    /// And, Or, Xor (7): bool inputs, broadcast.
    static func logical(_ op: String, _ f: @escaping @Sendable (Bool, Bool) -> Bool) -> OperatorDefinition {
        OperatorDefinition(op, versions: 7...Int.max, infer: broadcastInfer(.bool)) { _, inputs in
            let a = try required(inputs, 0), b = try required(inputs, 1)
            guard a.dtype == .bool else { throw OpError.input(0, "\(op) takes bool tensors, got \(a.dtype)") }
            guard b.dtype == .bool else { throw OpError.input(1, "\(op) takes bool tensors, got \(b.dtype)") }
            let dims = try Broadcast.shape([a.dims, b.dims])
            let walk = BroadcastWalk([a.dims, b.dims], output: dims)
            return [try a.withUnsafeBufferPointer(as: Bool.self) { x in
                try b.withUnsafeBufferPointer(as: Bool.self) { y in
                    try Tensor.filled(Bool.self, dims: dims) { z in
                        guard let x = x.baseAddress, let y = y.baseAddress else { return }
                        walk.binary(x, y, into: z, f)
                    }
                }
            }]
        }
    }

    static let logic: [OperatorDefinition] = [
        compare("Equal", .equal, versions: 7...Int.max),
        compare("Less", .less, versions: 7...Int.max),
        compare("Greater", .greater, versions: 7...Int.max),
        compare("LessOrEqual", .lessOrEqual, versions: 12...Int.max),
        compare("GreaterOrEqual", .greaterOrEqual, versions: 12...Int.max),
        logical("And") { $0 && $1 },
        logical("Or") { $0 || $1 },
        logical("Xor") { $0 != $1 },
        OperatorDefinition("Not", infer: sameAsInput(0)) { _, inputs in
            let x = try required(inputs, 0)
            guard x.dtype == .bool else { throw OpError.input(0, "Not takes a bool tensor, got \(x.dtype)") }
            return [try Tensor(shape: x.shape, scalars: try x.scalars(as: Bool.self).map { !$0 })]
        },
        where_,
    ]

    /// Where (9, 16): condition ? x : y, all three broadcast; x and y share any dtype, so the
    /// elements are copied as raw bytes.
    static let where_ = OperatorDefinition("Where", versions: 9...Int.max, infer: broadcastInfer(dtypeOf: 1)) { _, inputs in
        let condition = try required(inputs, 0), x = try required(inputs, 1), y = try required(inputs, 2)
        guard condition.dtype == .bool else { throw OpError.input(0, "condition must be bool, got \(condition.dtype)") }
        guard x.dtype == y.dtype else { throw OpError.input(2, "Where needs x and y of one dtype: \(x.dtype) and \(y.dtype)") }
        if let walked = try selectWalking(condition, x, y) { return [walked] }
        let (shape, maps) = try broadcastMaps([condition, x, y])
        let c = try condition.scalars(as: Bool.self), xBytes = x.bytes, yBytes = y.bytes
        let size = x.dtype.byteSize
        var bytes = [UInt8](repeating: 0, count: shape.elementCount * size)
        for i in maps[0].indices {
            let (source, index) = c[maps[0][i]] ? (xBytes, maps[1][i]) : (yBytes, maps[2][i])
            for k in 0..<size { bytes[i * size + k] = source[index * size + k] }
        }
        return [try Tensor(dtype: x.dtype, shape: shape, bytes: bytes)]
    }
}

extension ElementwiseOperators {
    /// Where by `BroadcastWalk`, moving elements of 1, 2, 4 or 8 bytes as unsigned integers of
    /// that width (any dtype: the bits are copied, never interpreted); nil for other widths.
    static func selectWalking(_ condition: Tensor, _ x: Tensor, _ y: Tensor) throws -> Tensor? {
        let dims = try Broadcast.shape([condition.dims, x.dims, y.dims])
        let walk = BroadcastWalk([condition.dims, x.dims, y.dims], output: dims)
        func run<T>(_: T.Type) throws -> Tensor {
            var bytes = [UInt8](repeating: 0, count: walk.count * MemoryLayout<T>.size)
            try condition.withUnsafeBufferPointer(as: Bool.self) { c in
                x.bytes.withUnsafeBytes { xr in
                    y.bytes.withUnsafeBytes { yr in
                        bytes.withUnsafeMutableBytes { zr in
                            guard let c = c.baseAddress, walk.count > 0 else { return }
                            walk.select(c, xr.baseAddress!.assumingMemoryBound(to: T.self), yr.baseAddress!.assumingMemoryBound(to: T.self),
                                        into: zr.baseAddress!.assumingMemoryBound(to: T.self))
                        }
                    }
                }
            }
            return try Tensor(dtype: x.dtype, shape: try Shape(dims), bytes: bytes)
        }
        switch x.dtype.byteSize {
        case 1: return try run(UInt8.self)
        case 2: return try run(UInt16.self)
        case 4: return try run(UInt32.self)
        case 8: return try run(UInt64.self)
        default: return nil
        }
    }
}
