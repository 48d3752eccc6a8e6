import SegGraph
import SegTensor

// Shared by the elementwise family (Ops/Elementwise*.swift): how every float dtype is computed,
// a way to write integer kernels once for all integer dtypes, broadcasting index maps and
// shape inference for broadcasting ops.

// Everything here is a static member of `ElementwiseOperators`, so the family's files use it
// unqualified and nothing collides with other families' helpers.

extension ElementwiseOperators {
    // MARK: - Floats: computed in Double, rounded once

    /// The elements of a float tensor (f16, f32, f64) widened exactly to Double. The family
    /// computes every float dtype in Double and rounds once to the output dtype: for + − × ÷
    /// and sqrt that gives exactly the f32 (and f16) IEEE result, for the rest at least as
    /// accurate as ORT's f32 code.
    static func doubles(_ t: Tensor, input index: Int, op: String) throws -> [Double] {
        guard t.dtype.isFloatingPoint else { throw OpError.input(index, "\(op) takes float tensors, got \(t.dtype)") }
        return try t.converted(to: .f64).scalars(as: Double.self)
    }

    /// A float tensor of `dtype` from Double values; f16 goes through f32 like ORT's f16 kernels.
    static func rounded(_ values: [Double], shape: Shape, to dtype: DType) throws -> Tensor {
        let wide = try Tensor(shape: shape, scalars: values)
        switch dtype {
        case .f64: return wide
        case .f32: return try wide.converted(to: .f32)
        case .f16: return try wide.converted(to: .f32).converted(to: .f16)
        default: throw OpError.other("internal: \(dtype) is not a float dtype")
        }
    }

    /// Applies `f` to every element of a float tensor (computed in Double, rounded once).
    static func mapFloat(_ x: Tensor, op: String, _ f: (Double) -> Double) throws -> Tensor {
        try rounded(try doubles(x, input: 0, op: op).map(f), shape: x.shape, to: x.dtype)
    }

    // MARK: - Integers: one generic body, every integer dtype

    /// A computation written once for every integer dtype; `visitInteger` supplies the type.
    protocol IntegerVisitor {
        associatedtype Result
        func visit<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Result
    }

    static func isSigned(_ dtype: DType) -> Bool {
        switch dtype {
        case .i8, .i16, .i32, .i64, .f16, .f32, .f64: true
        default: false
        }
    }

    /// Runs `visitor` with the Swift type of `dtype`; nil for float and bool dtypes.
    static func visitInteger<V: IntegerVisitor>(_ dtype: DType, _ visitor: V) throws -> V.Result? {
        switch dtype {
        case .i8: try visitor.visit(Int8.self)
        case .u8: try visitor.visit(UInt8.self)
        case .i16: try visitor.visit(Int16.self)
        case .u16: try visitor.visit(UInt16.self)
        case .i32: try visitor.visit(Int32.self)
        case .u32: try visitor.visit(UInt32.self)
        case .i64: try visitor.visit(Int64.self)
        case .u64: try visitor.visit(UInt64.self)
        case .f16, .f32, .f64, .bool: nil
        }
    }

    /// Float → integer the way ORT's CPU kernels do it on x86-64 (C casts compiled to
    /// `cvttss2si`): truncate toward zero; NaN and out-of-range values give the "integer
    /// indefinite" 0x80…0 of a 32- or 64-bit conversion, narrower types wrap the 32-bit result,
    /// and unsigned 32/64-bit results above the signed range are converted with their top bit
    /// flipped. Out of range is undefined in C; this pins it down to what ORT returns.
    static func integer<T: FixedWidthInteger>(truncating v: Double, as _: T.Type = T.self) -> T {
        func int32(_ v: Double) -> Int32 {
            v.isNaN || v <= -2_147_483_649 || v >= 2_147_483_648 ? .min : Int32(v.rounded(.towardZero))
        }
        func int64(_ v: Double) -> Int64 {
            v.isNaN || v < -0x1p63 || v >= 0x1p63 ? .min : Int64(v.rounded(.towardZero))
        }
        switch (T.bitWidth, T.isSigned) {
        case (64, true): return T(truncatingIfNeeded: int64(v))
        case (64, false):
            if v >= 0x1p63 { return T(truncatingIfNeeded: UInt64(bitPattern: int64(v - 0x1p63)) ^ (1 << 63)) }
            return T(truncatingIfNeeded: int64(v))
        case (32, false):
            if v >= 0x1p31 { return T(truncatingIfNeeded: UInt32(bitPattern: int32(v - 0x1p31)) ^ (1 << 31)) }
            return T(truncatingIfNeeded: int32(v))
        default: return T(truncatingIfNeeded: int32(v))
        }
    }

    // MARK: - Broadcasting

    /// Output shape of NumPy-broadcasting `tensors` and, per tensor, the flat index read for each
    /// output element. Refuses outputs too large to allocate before building the maps.
    static func broadcastMaps(_ tensors: [Tensor]) throws -> (shape: Shape, maps: [[Int]]) {
        let dims = try Broadcast.shape(tensors.map(\.dims))
        let shape = try Shape(dims)
        let bytes = try shape.byteCount(for: .f64)
        guard bytes <= Tensor.maximumByteCount else { throw TensorError.tooLarge(dims: dims, byteCount: bytes) }
        return (shape, tensors.map { Broadcast.indexMap(from: $0.dims, to: dims) })
    }

    /// Inference for broadcasting ops: broadcast shape of every present input (nil when a rank is
    /// unknown) and the dtype `fixed` or that of input `dtypeOf`. Static dims that cannot
    /// broadcast are an error at load rather than at the first run.
    static func broadcastInfer(_ fixed: DType? = nil, dtypeOf index: Int = 0) -> OperatorDefinition.Infer {
        { _, inputs in
            let present = inputs.compactMap { $0 }
            let concrete = present.compactMap { $0.type?.concreteDims }
            if concrete.count == present.count { _ = try Broadcast.shape(concrete) }
            let dtype = fixed ?? (index < inputs.count ? inputs[index]?.dtype : nil)
            return [TensorType(elementType: dtype, shape: Broadcast.symbolic(present.map(\.shape)))]
        }
    }

    /// Inference for ops whose output has input 0's shape and a fixed dtype (IsNaN, Cast...).
    static func sameShape(as index: Int = 0, dtype: DType?) -> OperatorDefinition.Infer {
        { _, inputs in [TensorType(elementType: dtype, shape: index < inputs.count ? inputs[index]?.shape : nil)] }
    }
}
