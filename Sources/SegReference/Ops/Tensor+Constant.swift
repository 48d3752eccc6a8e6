import SegGraph
import SegTensor

// Ops that make values without reading element data: Constant, ConstantOfShape, Identity,
// Dropout (inference), Shape, Size.

extension TensorOperators {
    static let constantValueAttributes = ["value", "value_float", "value_floats", "value_int", "value_ints",
                                          "sparse_value", "value_string", "value_strings"]

    /// Constant (1, 9, 11, 12, 13, 19, 21): exactly one of the value attributes. Sparse and
    /// string constants are refused at load: SegSlim has no sparse or string tensors.
    static let constant = OperatorDefinition(
        "Constant", attributes: Set(constantValueAttributes),
        check: { ctx in
            let present = constantValueAttributes.filter { ctx.has($0) }
            guard present.count == 1 else {
                throw OpError.attribute("value", "Constant needs exactly one value attribute, got \(present.isEmpty ? "none" : present.joined(separator: ", "))")
            }
            if present[0] != "value" && ctx.opset < 12 {
                throw OpError.attribute(present[0], "exists from opset 12; this model imports opset \(ctx.opset)")
            }
            if ["sparse_value", "value_string", "value_strings"].contains(present[0]) {
                throw OpError.unsupported("Constant attribute '\(present[0])': sparse and string tensors are not supported")
            }
            _ = try constantValue(ctx)
        },
        infer: { ctx, _ in
            let t = try constantValue(ctx)
            return [type(t.dtype, t.dims.map { .value($0) })]
        },
        run: { ctx, _ in [try constantValue(ctx)] })

    static func constantValue(_ ctx: NodeContext) throws -> Tensor {
        if let t = try ctx.tensor("value") { return t }
        if ctx.has("value_float") { return Tensor(scalar: try ctx.float("value_float", default: 0)) }
        if let v = try ctx.floats("value_floats") { return try Tensor(dims: [v.count], scalars: v) }
        if ctx.has("value_int") { return Tensor(scalar: Int64(try ctx.int("value_int"))) }
        if let v = try ctx.ints("value_ints") { return try Tensor(dims: [v.count], scalars: v.map { Int64($0) }) }
        throw OpError.unsupported("Constant without a tensor, float or int value")
    }

    /// ConstantOfShape (9, 20, 21): a tensor of the shape in input 0 filled with the single
    /// element of `value` (default f32 0).
    static let constantOfShape = OperatorDefinition(
        "ConstantOfShape", versions: 9...Int.max, attributes: ["value"],
        check: { ctx in
            if let v = try ctx.tensor("value"), v.elementCount != 1 {
                throw OpError.attribute("value", "must hold exactly one element, got shape \(v.shape)")
            }
        },
        infer: { ctx, inputs in
            let dtype = try ctx.tensor("value")?.dtype ?? .f32
            if let dims = constantIntegers(inputs.first ?? nil) { return [type(dtype, dims.map { .value($0) })] }
            if let shape = inputs.first??.shape, shape.count == 1, case .value(let n) = shape[0] {
                return [type(dtype, Array(repeating: .unknown, count: n))]
            }
            return [type(dtype, nil)]
        },
        run: { ctx, inputs in
            let dims = try integers(try required(inputs, 0), input: 0)
            let value = try ctx.tensor("value") ?? Tensor(scalar: Float(0))
            guard value.elementCount == 1 else { throw OpError.attribute("value", "must hold exactly one element") }
            let shape = try outputShape(dims, value.dtype)
            return [try gather(value, map: [Int](repeating: 0, count: shape.elementCount), shape: shape)]
        })

    /// Identity (1, 13, 14, 16, 19, 21): tensors only (no sequences or optionals).
    static let identity = OperatorDefinition("Identity", infer: sameAsInput(0)) { _, inputs in
        [try required(inputs, 0)]
    }

    /// Dropout (7, 10): inference only; the output is the input. The mask (input dtype before
    /// 10, bool from 10) is all zeros/false, as ONNX Runtime writes it for these versions.
    static let dropoutOld = OperatorDefinition(
        "Dropout", versions: 7...11, attributes: ["ratio"],
        infer: { ctx, inputs in
            let x = inputs.first ?? nil
            return [x?.type, type(ctx.opset >= 10 ? .bool : x?.dtype, x?.shape)]
        },
        run: { ctx, inputs in
            let x = try required(inputs, 0)
            let maskType: DType = ctx.opset >= 10 ? .bool : x.dtype
            return [x, try Tensor(zeros: maskType, shape: x.shape)]
        })

    /// Dropout (12, 13, 22): `ratio` and `training_mode` are inputs. In inference mode (the
    /// default) it is the identity; training mode is random, so only ratio 0 is run.
    static let dropout = OperatorDefinition(
        "Dropout", versions: 12...Int.max, attributes: ["seed"],
        infer: { _, inputs in
            let x = inputs.first ?? nil
            return [x?.type, type(.bool, x?.shape)]
        },
        run: { _, inputs in
            let x = try required(inputs, 0)
            if let mode = optional(inputs, 2), try mode.scalars(as: Bool.self).first == true {
                var ratio = 0.5
                if let r = optional(inputs, 1) {
                    guard let v = try r.converted(to: .f64).scalars(as: Double.self).first else {
                        throw OpError.input(1, "ratio must hold one value")
                    }
                    ratio = v
                }
                guard ratio == 0 else {
                    throw OpError.unsupported("Dropout in training mode with ratio \(ratio) is random; the reference executor runs inference only")
                }
            }
            return [x, try Tensor(shape: x.shape, scalars: [Bool](repeating: true, count: x.elementCount))]
        })

    /// Shape (1, 13): the whole shape as i64.
    static let shapeOld = OperatorDefinition(
        "Shape", versions: 1...14,
        infer: { _, inputs in [vector(.i64, inputs.first??.rank)] },
        run: { _, inputs in
            let x = try required(inputs, 0)
            return [try Tensor(dims: [x.dims.count], scalars: x.dims.map { Int64($0) })]
        })

    /// Shape (15, 19, 21): dims `start..<end`, both clamped to the rank after adding it to
    /// negative values; an empty range gives an empty vector.
    static let shape = OperatorDefinition(
        "Shape", versions: 15...Int.max, attributes: ["start", "end"],
        infer: { ctx, inputs in
            guard let rank = inputs.first??.rank else { return [vector(.i64, nil)] }
            let range = try shapeRange(ctx, rank: rank)
            return [vector(.i64, range.count)]
        },
        run: { ctx, inputs in
            let x = try required(inputs, 0)
            let range = try shapeRange(ctx, rank: x.dims.count)
            return [try Tensor(dims: [range.count], scalars: x.dims[range].map { Int64($0) })]
        })

    static func shapeRange(_ ctx: NodeContext, rank: Int) throws -> Range<Int> {
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + rank : v, 0), rank) }
        let start = clamp(try ctx.int("start", default: 0))
        let end = clamp(try ctx.int("end", default: rank))
        return start..<max(start, end)
    }

    /// Size (1, 13, 19, 21): the element count as an i64 scalar.
    static let size = OperatorDefinition(
        "Size",
        infer: { _, _ in [type(.i64, [])] },
        run: { _, inputs in [Tensor(scalar: Int64(try required(inputs, 0).elementCount))] })
}
