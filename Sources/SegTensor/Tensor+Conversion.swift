extension Tensor {
    /// Element-wise conversion to another dtype.
    ///
    /// Supported: identity; f16 ⇄ f32 (narrowing rounds half to even, overflow → ±inf);
    /// f64 → f32 (IEEE rounding); any dtype → f32 and → f64 (integers convert exactly where
    /// representable, otherwise to nearest); bool ⇄ numeric is not offered because its meaning
    /// (nonzero test vs. 0/1) belongs to the caller.
    public func converted(to target: DType) throws(TensorError) -> Tensor {
        if target == dtype { return self }
        switch (dtype, target) {
        case (.f32, .f16):
            return map(Float.self, to: Half.self) { Half($0) }
        case (.f16, .f32):
            return map(Half.self, to: Float.self) { $0.floatValue }
        case (_, .f32):
            guard let floats = asDoubles() else { break }
            return mapArray(floats.map { Float($0) })
        case (_, .f64):
            guard let doubles = asDoubles() else { break }
            return mapArray(doubles)
        default:
            break
        }
        throw .unsupportedConversion(from: dtype, to: target)
    }

    private func map<S: TensorScalar, D: TensorScalar>(_: S.Type, to: D.Type, _ f: (S) -> D) -> Tensor {
        let out = bytes.withUnsafeBytes { raw in
            raw.withMemoryRebound(to: S.self) { source in
                [D](unsafeUninitializedCapacity: source.count) { buffer, initialized in
                    for i in source.indices { buffer[i] = f(source[i]) }
                    initialized = source.count
                }
            }
        }
        return mapArray(out)
    }

    private func mapArray<D: TensorScalar>(_ scalars: [D]) -> Tensor {
        Tensor(unchecked: D.dtype, shape: shape, bytes: scalars.withUnsafeBytes { [UInt8]($0) })
    }

    /// Every numeric dtype widened to Double (exact except i64/u64 beyond 2^53).
    private func asDoubles() -> [Double]? {
        func widen<T: TensorScalar>(_: T.Type, _ f: (T) -> Double) -> [Double] {
            bytes.withUnsafeBytes { raw in raw.withMemoryRebound(to: T.self) { $0.map(f) } }
        }
        switch dtype {
        case .f32: return widen(Float.self) { Double($0) }
        case .f16: return widen(Half.self) { Double($0.floatValue) }
        case .f64: return widen(Double.self) { $0 }
        case .i8: return widen(Int8.self) { Double($0) }
        case .u8: return widen(UInt8.self) { Double($0) }
        case .i16: return widen(Int16.self) { Double($0) }
        case .u16: return widen(UInt16.self) { Double($0) }
        case .i32: return widen(Int32.self) { Double($0) }
        case .u32: return widen(UInt32.self) { Double($0) }
        case .i64: return widen(Int64.self) { Double($0) }
        case .u64: return widen(UInt64.self) { Double($0) }
        case .bool: return nil
        }
    }
}
