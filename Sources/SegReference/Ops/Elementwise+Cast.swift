import SegGraph
import SegTensor

// Cast and CastLike among the dtypes SegSlim loads. `saturate` (19) and `round_mode` (24) only
// concern float8 / e8m0 targets, which are refused anyway, so they are accepted and ignored.

extension ElementwiseOperators {
    /// ONNX `TensorProto.DataType` codes of the dtypes Cast can produce.
    static func dtype(onnxCode code: Int) -> DType? { DType(onnxCode: code) }

    static func castTarget(_ ctx: NodeContext) throws -> DType {
        let code = try ctx.int("to")
        guard let dtype = dtype(onnxCode: code) else {
            throw OpError.attribute("to", "casting to ONNX data type \(code) is not supported (SegSlim computes with f16, f32, f64, bool and 8- to 64-bit integers)")
        }
        return dtype
    }

    static let cast: [OperatorDefinition] = [
        OperatorDefinition("Cast", versions: 6...Int.max, attributes: ["to", "saturate", "round_mode"],
                           check: { ctx in _ = try castTarget(ctx) },
                           infer: { ctx, inputs in
                               [TensorType(elementType: try castTarget(ctx), shape: inputs.first??.shape)]
                           }) { ctx, inputs in
            [try convert(try required(inputs, 0), to: try castTarget(ctx))]
        },
        OperatorDefinition("CastLike", versions: 15...Int.max, attributes: ["saturate", "round_mode"],
                           infer: { _, inputs in
                               [TensorType(elementType: inputs.count > 1 ? inputs[1]?.dtype : nil, shape: inputs.first??.shape)]
                           }) { _, inputs in
            [try convert(try required(inputs, 0), to: try required(inputs, 1).dtype)]
        },
    ]

    /// Element-wise conversion with C++ `static_cast` semantics, as ORT's Cast: integers wrap,
    /// floats truncate toward zero (out of range: see `integer(truncating:)`), anything → bool
    /// is a nonzero test (NaN is true), bool → number is 0 or 1, integers round to nearest float.
    static func convert(_ x: Tensor, to target: DType) throws -> Tensor {
        if x.dtype == target { return x }
        let source: CastSource
        if x.dtype.isFloatingPoint {
            switch target {
            case .f32, .f64: return try x.converted(to: target)
            case .f16: return try x.converted(to: .f32).converted(to: .f16)
            default: source = .floats(try doubles(x, input: 0, op: "Cast"))
            }
        } else if x.dtype == .bool {
            source = .bools(try x.scalars(as: Bool.self))
        } else if let bits = try visitInteger(x.dtype, IntegerBits(x: x)) {
            source = .integers(bits, signed: isSigned(x.dtype))
        } else {
            throw OpError.input(0, "Cast does not take \(x.dtype)")
        }
        switch target {
        case .bool: return try Tensor(shape: x.shape, scalars: source.values.map { $0 != 0 })
        case .f64: return try Tensor(shape: x.shape, scalars: source.values)
        // Integers straight to Float (one rounding, like static_cast<float>(int64)).
        case .f32: return try Tensor(shape: x.shape, scalars: source.floats)
        case .f16: return try Tensor(shape: x.shape, scalars: source.floats.map { Half($0) })
        default:
            guard let out = try visitInteger(target, MakeIntegers(source: source, shape: x.shape)) else {
                throw OpError.unsupported("Cast to \(target)")
            }
            return out
        }
    }

    /// Source elements of a cast; integers as their 64-bit two's complement bits.
    enum CastSource {
        case floats([Double])
        case integers([Int64], signed: Bool)
        case bools([Bool])

        var values: [Double] {
            switch self {
            case .floats(let v): v
            case .integers(let v, true): v.map { Double($0) }
            case .integers(let v, false): v.map { Double(UInt64(bitPattern: $0)) }
            case .bools(let v): v.map { $0 ? 1 : 0 }
            }
        }

        var floats: [Float] {
            switch self {
            case .floats(let v): v.map { Float($0) }
            case .integers(let v, true): v.map { Float($0) }
            case .integers(let v, false): v.map { Float(UInt64(bitPattern: $0)) }
            case .bools(let v): v.map { $0 ? 1 : 0 }
            }
        }
    }

    struct IntegerBits: IntegerVisitor {
        let x: Tensor
        func visit<T: FixedWidthInteger & TensorScalar>(_: T.Type) throws -> [Int64] {
            try x.scalars(as: T.self).map { Int64(truncatingIfNeeded: $0) }
        }
    }

    struct MakeIntegers: IntegerVisitor {
        let source: CastSource, shape: Shape
        func visit<T: FixedWidthInteger & TensorScalar>(_: T.Type) throws -> Tensor {
            let out: [T]
            switch source {
            case .floats(let v): out = v.map { integer(truncating: $0) }
            case .integers(let v, _): out = v.map { T(truncatingIfNeeded: $0) }
            case .bools(let v): out = v.map { $0 ? 1 : 0 }
            }
            return try Tensor(shape: shape, scalars: out)
        }
    }
}
