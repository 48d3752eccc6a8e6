import SegGraph
import SegTensor

// Clip: bounds as attributes (opset 6–10, floats) or as optional scalar inputs (11 on; every
// numeric dtype from 12). min(max(x, lo), hi): NaN stays NaN, and lo > hi gives hi everywhere,
// as the spec and ORT do.

extension ElementwiseOperators {
    static let clip: [OperatorDefinition] = [clipAttributes, clipInputs]

    static let clipAttributes = OperatorDefinition("Clip", versions: 6...10, attributes: ["min", "max"],
                                                   infer: sameAsInput(0)) { ctx, inputs in
        let lo = Double(try ctx.float("min", default: -Float.greatestFiniteMagnitude))
        let hi = Double(try ctx.float("max", default: Float.greatestFiniteMagnitude))
        return [try mapFloat(try required(inputs, 0), op: "Clip") { Swift.min(Swift.max($0, lo), hi) }]
    }

    static let clipInputs = OperatorDefinition("Clip", versions: 11...Int.max, infer: sameAsInput(0)) { _, inputs in
        let x = try required(inputs, 0)
        let lo = optional(inputs, 1), hi = optional(inputs, 2)
        for (index, bound) in [(1, lo), (2, hi)] {
            guard let bound else { continue }
            guard bound.dtype == x.dtype else { throw OpError.input(index, "Clip bound is \(bound.dtype), input is \(x.dtype)") }
            guard bound.elementCount == 1 else { throw OpError.input(index, "Clip bound must be a scalar, got shape \(bound.shape)") }
        }
        if x.dtype.isFloatingPoint {
            let l = try lo.map { try doubles($0, input: 1, op: "Clip")[0] } ?? -.infinity
            let h = try hi.map { try doubles($0, input: 2, op: "Clip")[0] } ?? .infinity
            return [try mapFloat(x, op: "Clip") { Swift.min(Swift.max($0, l), h) }]
        }
        guard let out = try visitInteger(x.dtype, ClipIntegers(x: x, lo: lo, hi: hi)) else {
            throw OpError.input(0, "Clip does not take \(x.dtype)")
        }
        return [out]
    }

    struct ClipIntegers: IntegerVisitor {
        let x: Tensor, lo: Tensor?, hi: Tensor?
        func visit<T: FixedWidthInteger & TensorScalar>(_: T.Type) throws -> Tensor {
            let l = try lo?.scalars(as: T.self).first ?? T.min
            let h = try hi?.scalars(as: T.self).first ?? T.max
            return try Tensor(shape: x.shape, scalars: try x.scalars(as: T.self).map { Swift.min(Swift.max($0, l), h) })
        }
    }
}
