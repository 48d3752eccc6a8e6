import SegGraph
import SegTensor

// Pad: `pads` as an attribute (2) or input (11; `axes` input from 18), modes constant,
// reflect, edge and (from 19) wrap. Negative pads crop first, like ONNX Runtime; the
// remaining positive pads are then filled from the cropped tensor.

extension TensorOperators {
    static let padModes = ["constant", "reflect", "edge", "wrap"]

    static func padModeCheck(_ ctx: NodeContext) throws {
        let mode = try ctx.string("mode", default: "constant")
        guard padModes.contains(mode), mode != "wrap" || ctx.opset >= 19 else {
            throw OpError.attribute("mode", "'\(mode)' is not a Pad mode at opset \(ctx.opset)")
        }
    }

    static let padOld = OperatorDefinition(
        "Pad", versions: 2...10, attributes: ["mode", "pads", "value"],
        check: padModeCheck,
        infer: { ctx, inputs in [inferPad(inputs.first ?? nil, pads: try ctx.ints("pads"), axes: nil)] },
        run: { ctx, inputs in
            let x = try required(inputs, 0)
            guard let pads = try ctx.ints("pads") else { throw OpError.attribute("pads", "required attribute is missing") }
            let fill = try scalar(Double(try ctx.float("value", default: 0)), as: x.dtype)
            return [try padded(x, pads: pads, axes: nil, mode: try ctx.string("mode", default: "constant"), fill: fill)]
        })

    static let pad = OperatorDefinition(
        "Pad", versions: 11...Int.max, attributes: ["mode"],
        check: { ctx in
            try padModeCheck(ctx)
            if ctx.opset < 18 && ctx.node.inputs.count > 3 { throw OpError.input(3, "the axes input exists from opset 18") }
        },
        infer: { _, inputs in
            let axesInput = inputs.count > 3 ? inputs[3] : nil
            let x = inputs.first ?? nil
            guard axesInput == nil || axesInput?.constant != nil else { return [type(x?.dtype, x?.rank.map { Array(repeating: .unknown, count: $0) })] }
            return [inferPad(x, pads: constantIntegers(inputs.count > 1 ? inputs[1] : nil), axes: constantIntegers(axesInput))]
        },
        run: { ctx, inputs in
            let x = try required(inputs, 0)
            let pads = try integers(try required(inputs, 1), input: 1)
            var fill = try scalar(0, as: x.dtype)
            if let v = optional(inputs, 2) {
                guard v.dtype == x.dtype, v.elementCount == 1 else {
                    throw OpError.input(2, "constant_value must be one \(x.dtype) element, got \(v.dtype)\(v.shape)")
                }
                fill = try v.reshaped(to: .scalar)
            }
            let axes = try optional(inputs, 3).map { try integers($0, input: 3) }
            return [try padded(x, pads: pads, axes: axes, mode: try ctx.string("mode", default: "constant"), fill: fill)]
        })

    /// Begin and end pads for every axis of a rank-`rank` tensor.
    static func fullPads(_ pads: [Int], axes: [Int]?, rank: Int) throws -> [(begin: Int, end: Int)] {
        let axes = axes ?? Array(0..<rank)
        guard pads.count == 2 * axes.count else {
            throw OpError.input(1, "pads has \(pads.count) values for \(axes.count) axes; it needs two per axis")
        }
        // Bounded so that sizes computed from them cannot overflow.
        guard pads.allSatisfy({ $0 >= -(1 << 40) && $0 <= 1 << 40 }) else { throw OpError.input(1, "pads \(pads) are absurdly large") }
        var out = Array(repeating: (begin: 0, end: 0), count: rank)
        for (i, a) in axes.enumerated() {
            let axis = a < 0 ? a + rank : a
            guard axis >= 0 && axis < rank else { throw OpError.input(3, "axis \(a) is out of range for rank \(rank)") }
            out[axis] = (pads[i], pads[axes.count + i])
        }
        return out
    }

    static func padded(_ x: Tensor, pads: [Int], axes: [Int]?, mode: String, fill: Tensor) throws -> Tensor {
        let perAxis = try fullPads(pads, axes: axes, rank: x.dims.count)
        let strides = x.shape.strides
        // Per axis: the part kept after cropping (from `low`, `kept` long), then padded.
        let low = perAxis.map { max(0, -$0.begin) }
        let kept = perAxis.indices.map { x.dims[$0] - low[$0] - max(0, -perAxis[$0].end) }
        let before = perAxis.map { max(0, $0.begin) }
        let dims = perAxis.indices.map { kept[$0] + before[$0] + max(0, perAxis[$0].end) }
        for d in dims.indices {
            guard kept[d] >= 0 else { throw OpError.input(1, "pads \(pads) crop more than axis \(d) holds (\(x.dims[d]))") }
            if mode != "constant" && kept[d] == 0 && dims[d] > 0 {
                throw OpError.input(0, "Pad mode '\(mode)' cannot pad axis \(d), which is empty after cropping")
            }
        }
        _ = try outputShape(dims, x.dtype)
        let offsets = dims.indices.map { d in
            (0..<max(dims[d], 1)).map { o in
                guard let i = padSource(o - before[d], size: kept[d], mode: mode) else { return padOffset }
                return (low[d] + i) * strides[d]
            }
        }
        return try remap(x, dims: dims, offsets: offsets, fill: fill)
    }

    /// Where position `p` (relative to the kept part of size `size`) reads from; nil for the
    /// constant value.
    static func padSource(_ p: Int, size: Int, mode: String) -> Int? {
        if p >= 0 && p < size { return p }
        switch mode {
        case "edge": return p < 0 ? 0 : size - 1
        case "wrap": return ((p % size) + size) % size
        case "reflect":
            // Mirror without repeating the edge, as NumPy does, even for pads longer than the axis.
            guard size > 1 else { return 0 }
            let period = 2 * (size - 1)
            let m = ((p % period) + period) % period
            return m < size ? m : period - m
        default: return nil
        }
    }

    static func inferPad(_ x: InferredValue?, pads: [Int]?, axes: [Int]?) -> TensorType {
        guard let shape = x?.shape else { return type(x?.dtype, nil) }
        guard let pads, let perAxis = try? fullPads(pads, axes: axes, rank: shape.count) else {
            return type(x?.dtype, Array(repeating: .unknown, count: shape.count))
        }
        return type(x?.dtype, zip(shape, perAxis).map { d, p in
            if p.begin == 0 && p.end == 0 { return d }
            guard case .value(let v) = d else { return .unknown }
            return .value(v + p.begin + p.end)
        })
    }

    /// A one-element tensor of `dtype` holding `value` (pad values, fills); integers must be
    /// finite and in range, bool is nonzero.
    static func scalar(_ value: Double, as dtype: DType) throws -> Tensor {
        func int<T: TensorScalar & FixedWidthInteger>(_: T.Type) throws -> Tensor {
            guard let v = T(exactly: value.rounded(.towardZero)) else {
                throw OpError.other("the value \(value) does not fit \(dtype)")
            }
            return Tensor(scalar: v)
        }
        switch dtype {
        case .f32: return Tensor(scalar: Float(value))
        case .f64: return Tensor(scalar: value)
        case .f16: return Tensor(scalar: Half(Float(value)))
        case .bool: return Tensor(scalar: value != 0)
        case .i8: return try int(Int8.self)
        case .u8: return try int(UInt8.self)
        case .i16: return try int(Int16.self)
        case .u16: return try int(UInt16.self)
        case .i32: return try int(Int32.self)
        case .u32: return try int(UInt32.self)
        case .i64: return try int(Int64.self)
        case .u64: return try int(UInt64.self)
        }
    }
}
