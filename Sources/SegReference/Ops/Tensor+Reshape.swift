import SegGraph
import SegTensor

// Ops that change the shape but not the element order: Reshape, Flatten, Squeeze, Unsqueeze.

extension TensorOperators {
    /// Reshape (5, 13, 14, 19, 21): 0 copies the input dim (unless `allowzero`, 14+, makes it
    /// a real zero), -1 takes what is left over (at most one).
    static let reshape = OperatorDefinition(
        "Reshape", versions: 5...Int.max, attributes: ["allowzero"],
        check: { ctx in
            if ctx.opset < 14 && ctx.has("allowzero") {
                throw OpError.attribute("allowzero", "exists from opset 14; this model imports opset \(ctx.opset)")
            }
        },
        infer: { ctx, inputs in
            let x = inputs.first ?? nil
            guard let requested = constantIntegers(inputs.count > 1 ? inputs[1] : nil) else {
                let length = inputs.count > 1 ? inputs[1]?.shape?.first : nil
                if case .value(let n)? = length { return [type(x?.dtype, Array(repeating: .unknown, count: n))] }
                return [type(x?.dtype, nil)]
            }
            return [type(x?.dtype, inferReshape(x?.shape, requested, allowZero: try ctx.int("allowzero", default: 0) != 0))]
        },
        run: { ctx, inputs in
            let x = try required(inputs, 0)
            let requested = try integers(try required(inputs, 1), input: 1)
            let dims = try reshapeDims(x.dims, requested, allowZero: try ctx.int("allowzero", default: 0) != 0)
            return [try x.reshaped(to: Shape(dims))]
        })

    static func reshapeDims(_ input: [Int], _ requested: [Int], allowZero: Bool) throws -> [Int] {
        var dims = requested
        var inferred: Int?
        for (i, d) in requested.enumerated() {
            switch d {
            case 0 where !allowZero:
                guard i < input.count else { throw OpError.input(1, "shape \(requested): 0 at position \(i) but the input has rank \(input.count)") }
                dims[i] = input[i]
            case -1:
                guard inferred == nil else { throw OpError.input(1, "shape \(requested) has more than one -1") }
                inferred = i
            case ..<0:
                throw OpError.input(1, "shape \(requested) has the invalid value \(d)")
            default: break
            }
        }
        if allowZero && inferred != nil && requested.contains(0) {
            throw OpError.input(1, "shape \(requested) has both 0 and -1 with allowzero set")
        }
        let total = input.reduce(1, *)
        if let i = inferred {
            var others = dims
            others.remove(at: i)
            guard let known = checkedProduct(others), known != 0, total % known == 0 else {
                throw OpError.input(1, "cannot reshape \(input) to \(requested)")
            }
            dims[i] = total / known
        }
        guard checkedProduct(dims) == total else { throw OpError.input(1, "cannot reshape \(input) to \(requested): element counts differ") }
        return dims
    }

    /// Reshape for inference: symbolic dims are copied by 0 and cancelled against each other
    /// to find -1 (so [batch, 3, H, W] with [0, -1] gives [batch, 3·H·W] when H, W are known).
    static func inferReshape(_ input: [Dimension]?, _ requested: [Int], allowZero: Bool) -> [Dimension] {
        var out: [Dimension] = requested.enumerated().map { i, d in
            if d == 0 && !allowZero { return input.flatMap { i < $0.count ? $0[i] : nil } ?? .unknown }
            return d < 0 ? .unknown : .value(d)
        }
        guard let input, let hole = requested.firstIndex(of: -1) else { return out }
        var outDims = out
        outDims.remove(at: hole)
        guard let whole = SymbolicProduct(input), let known = SymbolicProduct(outDims),
              let rest = whole.dividing(by: known) else { return out }
        out[hole] = rest
        return out
    }

    /// Flatten (1, 9, 11, 13, 21): 2-D, dims before `axis` times dims from `axis` on.
    static let flatten = OperatorDefinition(
        "Flatten", attributes: ["axis"],
        infer: { ctx, inputs in
            let x = inputs.first ?? nil
            guard let shape = x?.shape, let axis = try? flattenAxis(ctx, rank: shape.count) else { return [type(x?.dtype, [.unknown, .unknown])] }
            let outer = SymbolicProduct(Array(shape[..<axis]))?.dimension ?? .unknown
            let inner = SymbolicProduct(Array(shape[axis...]))?.dimension ?? .unknown
            return [type(x?.dtype, [outer, inner])]
        },
        run: { ctx, inputs in
            let x = try required(inputs, 0)
            let axis = try flattenAxis(ctx, rank: x.dims.count)
            return [try x.reshaped(to: Shape([x.dims[..<axis].reduce(1, *), x.dims[axis...].reduce(1, *)]))]
        })

    static func flattenAxis(_ ctx: NodeContext, rank: Int) throws -> Int {
        let value = try ctx.int("axis", default: 1)
        let axis = value < 0 && ctx.opset >= 11 ? value + rank : value
        guard axis >= 0 && axis <= rank else { throw OpError.attribute("axis", "\(value) is out of range for rank \(rank)") }
        return axis
    }

    /// Squeeze (1, 11 with `axes` attribute; 13, 21 with `axes` input): drops the listed
    /// axes, which must be 1, or every 1 when none are listed.
    static let squeezeOld = OperatorDefinition(
        "Squeeze", versions: 1...12, attributes: ["axes"],
        infer: { ctx, inputs in [inferSqueeze(inputs.first ?? nil, axes: try ctx.ints("axes"))] },
        run: { ctx, inputs in [try squeezed(try required(inputs, 0), axes: try ctx.ints("axes"))] })

    static let squeeze = OperatorDefinition(
        "Squeeze", versions: 13...Int.max,
        infer: { _, inputs in
            let axesInput = inputs.count > 1 ? inputs[1] : nil
            if axesInput != nil && axesInput?.constant == nil { return [type(inputs.first??.dtype, nil)] }
            return [inferSqueeze(inputs.first ?? nil, axes: constantIntegers(axesInput))]
        },
        run: { _, inputs in
            let axes = try optional(inputs, 1).map { try integers($0, input: 1) }
            return [try squeezed(try required(inputs, 0), axes: axes)]
        })

    static func squeezed(_ x: Tensor, axes: [Int]?) throws -> Tensor {
        let rank = x.dims.count
        guard let axes else { return try x.reshaped(to: Shape(x.dims.filter { $0 != 1 })) }
        var drop = Set<Int>()
        for a in axes {
            let axis = a < 0 ? a + rank : a
            guard axis >= 0 && axis < rank else { throw OpError.attribute("axes", "axis \(a) is out of range for rank \(rank)") }
            guard x.dims[axis] == 1 else { throw OpError.attribute("axes", "axis \(a) has size \(x.dims[axis]), not 1") }
            drop.insert(axis)
        }
        return try x.reshaped(to: Shape(x.dims.enumerated().filter { !drop.contains($0.offset) }.map(\.element)))
    }

    static func inferSqueeze(_ x: InferredValue?, axes: [Int]?) -> TensorType {
        guard let shape = x?.shape else { return type(x?.dtype, nil) }
        guard let axes else {
            // Without axes only fully known dims tell which ones go.
            var out: [Dimension] = []
            for d in shape {
                guard case .value(let v) = d else { return type(x?.dtype, nil) }
                if v != 1 { out.append(d) }
            }
            return type(x?.dtype, out)
        }
        let drop = Set(axes.compactMap { inferAxis($0, rank: shape.count) })
        return type(x?.dtype, shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element))
    }

    /// Unsqueeze (1, 11 with `axes` attribute; 13, 21 with `axes` input): inserts 1s at the
    /// listed positions of the output (negative from 11, counted against the output rank).
    static let unsqueezeOld = OperatorDefinition(
        "Unsqueeze", versions: 1...12, attributes: ["axes"],
        infer: { ctx, inputs in
            let x = inputs.first ?? nil
            guard let shape = x?.shape, let axes = try ctx.ints("axes"),
                  let dims = try? unsqueezeDims(shape, axes: axes, fill: Dimension.value(1)) else { return [type(x?.dtype, nil)] }
            return [type(x?.dtype, dims)]
        },
        run: { ctx, inputs in
            guard let axes = try ctx.ints("axes") else { throw OpError.attribute("axes", "required attribute is missing") }
            let x = try required(inputs, 0)
            return [try x.reshaped(to: Shape(try unsqueezeDims(x.dims, axes: axes, fill: 1)))]
        })

    static let unsqueeze = OperatorDefinition(
        "Unsqueeze", versions: 13...Int.max,
        infer: { _, inputs in
            let x = inputs.first ?? nil
            guard let shape = x?.shape, let axes = constantIntegers(inputs.count > 1 ? inputs[1] : nil),
                  let dims = try? unsqueezeDims(shape, axes: axes, fill: Dimension.value(1)) else {
                if let rank = x?.rank, let n = inputs.count > 1 ? inputs[1]?.shape : nil, n.count == 1, case .value(let k) = n[0] {
                    return [type(x?.dtype, Array(repeating: .unknown, count: rank + k))]
                }
                return [type(x?.dtype, nil)]
            }
            return [type(x?.dtype, dims)]
        },
        run: { _, inputs in
            let x = try required(inputs, 0)
            let axes = try integers(try required(inputs, 1), input: 1)
            return [try x.reshaped(to: Shape(try unsqueezeDims(x.dims, axes: axes, fill: 1)))]
        })

    static func unsqueezeDims<D>(_ dims: [D], axes: [Int], fill: D) throws -> [D] {
        let rank = dims.count + axes.count
        var inserted = Set<Int>()
        for a in axes {
            let axis = a < 0 ? a + rank : a
            guard axis >= 0 && axis < rank else { throw OpError.attribute("axes", "axis \(a) is out of range for output rank \(rank)") }
            guard inserted.insert(axis).inserted else { throw OpError.attribute("axes", "axis \(a) is listed twice") }
        }
        var source = dims.makeIterator()
        return try (0..<rank).map { i in
            if inserted.contains(i) { return fill }
            guard let d = source.next() else { throw OpError.attribute("axes", "inconsistent axes") }
            return d
        }
    }
}

extension TensorOperators {
    /// A product of dims as a static factor times symbolic names, so inference can cancel the
    /// same symbol on both sides of a reshape. nil when a dim is unknown.
    struct SymbolicProduct {
        var factor: Int
        var symbols: [String: Int]

        init?(_ dims: [Dimension]) {
            factor = 1
            symbols = [:]
            for d in dims {
                switch d {
                case .value(let v):
                    let (p, overflow) = factor.multipliedReportingOverflow(by: v)
                    if overflow || v < 0 { return nil }
                    factor = p
                case .param(let p): symbols[p, default: 0] += 1
                case .unknown: return nil
                }
            }
        }

        /// The product as one dim, when it is static or a single symbol.
        var dimension: Dimension? {
            if symbols.isEmpty { return .value(factor) }
            if factor == 1, symbols.count == 1, let (name, power) = symbols.first, power == 1 { return .param(name) }
            return nil
        }

        /// self / other as one dim, when the symbols cancel into something `dimension` can say.
        func dividing(by other: SymbolicProduct) -> Dimension? {
            guard other.factor != 0, factor % other.factor == 0 else { return nil }
            var rest = self
            rest.factor = factor / other.factor
            for (name, power) in other.symbols {
                guard let mine = rest.symbols[name], mine >= power else { return nil }
                rest.symbols[name] = mine == power ? nil : mine - power
            }
            return rest.dimension
        }
    }
}
