import SegTensor

/// Operators of this family, registered in `OperatorRegistry.standard`.
package enum ElementwiseOperators {
    package static let all: [OperatorDefinition] = [relu] + activations + math + clip + arithmetic + logic
        + cast + softmax + reductions + argExtremes

    /// Relu (1, 6, 13, 14): max(x, 0). Type and shape follow the input.
    static let relu = OperatorDefinition("Relu", infer: sameAsInput(0)) { _, inputs in
        let x = try required(inputs, 0)
        switch x.dtype {
        case .f32: return [try mapFloats(x) { max($0, 0) }]
        case .f64: return [try Tensor(shape: x.shape, scalars: try x.scalars(as: Double.self).map { max($0, 0) })]
        case .f16: return [try x.mapFloatsToHalf { max($0, 0) }]
        case .i8: return [try Tensor(shape: x.shape, scalars: try x.scalars(as: Int8.self).map { max($0, 0) })]
        case .i16: return [try Tensor(shape: x.shape, scalars: try x.scalars(as: Int16.self).map { max($0, 0) })]
        case .i32: return [try Tensor(shape: x.shape, scalars: try x.scalars(as: Int32.self).map { max($0, 0) })]
        case .i64: return [try Tensor(shape: x.shape, scalars: try x.scalars(as: Int64.self).map { max($0, 0) })]
        default: throw OpError.input(0, "Relu does not take \(x.dtype)")
        }
    }
}
