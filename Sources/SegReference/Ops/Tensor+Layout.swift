import SegGraph
import SegTensor

// Ops that reorder or repeat elements: Transpose, Expand, Tile, DepthToSpace, SpaceToDepth.

extension TensorOperators {
    /// Transpose (1, 13, 21): output axis d is input axis perm[d]; perm defaults to reversed.
    static let transpose = OperatorDefinition(
        "Transpose", attributes: ["perm"],
        infer: { ctx, inputs in
            let x = inputs.first ?? nil
            guard let shape = x?.shape, let perm = try? transposePerm(ctx, rank: shape.count) else { return [type(x?.dtype, nil)] }
            return [type(x?.dtype, perm.map { shape[$0] })]
        },
        run: { ctx, inputs in
            let x = try required(inputs, 0)
            return [try transposed(x, perm: try transposePerm(ctx, rank: x.dims.count))]
        })

    static func transposePerm(_ ctx: NodeContext, rank: Int) throws -> [Int] {
        guard let perm = try ctx.ints("perm") else { return Array((0..<rank).reversed()) }
        guard perm.sorted() == Array(0..<rank) else {
            throw OpError.attribute("perm", "\(perm) is not a permutation of the \(rank) axes")
        }
        return perm
    }

    /// Expand (8, 13): broadcasts the input to the shape in input 1 (NumPy rules, so a 1 in
    /// the shape keeps the input's dim).
    static let expand = OperatorDefinition(
        "Expand", versions: 8...Int.max,
        infer: { _, inputs in
            let x = inputs.first ?? nil
            let shapeInput = inputs.count > 1 ? inputs[1] : nil
            if let target = constantIntegers(shapeInput) {
                return [type(x?.dtype, Broadcast.symbolic([x?.shape, target.map { .value($0) }]))]
            }
            if let rank = x?.rank, let n = shapeInput?.shape, n.count == 1, case .value(let k) = n[0] {
                return [type(x?.dtype, Array(repeating: .unknown, count: max(rank, k)))]
            }
            return [type(x?.dtype, nil)]
        },
        run: { _, inputs in
            let x = try required(inputs, 0)
            let target = try integers(try required(inputs, 1), input: 1)
            guard target.allSatisfy({ $0 >= 0 }) else { throw OpError.input(1, "shape \(target) has a negative dim") }
            let dims = try Broadcast.shape([x.dims, target])
            return [try broadcasted(x, to: dims)]
        })

    /// `x` broadcast to `dims` (which must be a valid broadcast of its shape).
    static func broadcasted(_ x: Tensor, to dims: [Int]) throws -> Tensor {
        _ = try outputShape(dims, x.dtype)
        let strides = Broadcast.strides(of: x.dims, broadcastTo: dims)
        let offsets = dims.indices.map { d in (0..<max(dims[d], 1)).map { $0 * strides[d] } }
        return try remap(x, dims: dims, offsets: offsets)
    }

    /// Tile (6, 13): repeats[d] copies of the input along every axis d.
    static let tile = OperatorDefinition(
        "Tile", versions: 6...Int.max,
        infer: { _, inputs in
            let x = inputs.first ?? nil
            guard let shape = x?.shape, let repeats = constantIntegers(inputs.count > 1 ? inputs[1] : nil),
                  repeats.count == shape.count else { return [type(x?.dtype, x?.rank.map { Array(repeating: .unknown, count: $0) })] }
            return [type(x?.dtype, zip(shape, repeats).map { d, r in
                if case .value(let v) = d { return .value(v * r) }
                return r == 1 ? d : .unknown
            })]
        },
        run: { _, inputs in
            let x = try required(inputs, 0)
            let repeats = try integers(try required(inputs, 1), input: 1)
            guard repeats.count == x.dims.count else {
                throw OpError.input(1, "repeats has \(repeats.count) values for an input of rank \(x.dims.count)")
            }
            guard repeats.allSatisfy({ $0 >= 0 }) else { throw OpError.input(1, "repeats \(repeats) has a negative value") }
            var dims: [Int] = []
            for (d, r) in zip(x.dims, repeats) {
                let (n, overflow) = d.multipliedReportingOverflow(by: r)
                guard !overflow else { throw OpError.input(1, "repeats \(repeats) make an absurd shape") }
                dims.append(n)
            }
            _ = try outputShape(dims, x.dtype)
            let strides = x.shape.strides
            let offsets = dims.indices.map { d in (0..<max(dims[d], 1)).map { ($0 % max(x.dims[d], 1)) * strides[d] } }
            return [try remap(x, dims: dims, offsets: offsets)]
        })

    /// DepthToSpace (1, 11, 13): DCR (default) or CRD order of the channel blocks.
    static let depthToSpace = OperatorDefinition(
        "DepthToSpace", attributes: ["blocksize", "mode"],
        check: { ctx in
            if ctx.opset < 11 && ctx.has("mode") { throw OpError.attribute("mode", "exists from opset 11") }
            _ = try spaceDepthParameters(ctx)
        },
        infer: { ctx, inputs in
            let x = inputs.first ?? nil
            guard let s = x?.shape, s.count == 4, let (b, _) = try? spaceDepthParameters(ctx) else { return [type(x?.dtype, nil)] }
            return [type(x?.dtype, [s[0], scaled(s[1], divide: b * b), scaled(s[2], times: b), scaled(s[3], times: b)])]
        },
        run: { ctx, inputs in
            let x = try required(inputs, 0)
            let (b, crd) = try spaceDepthParameters(ctx)
            guard x.dims.count == 4, x.dims[1] % (b * b) == 0 else {
                throw OpError.input(0, "DepthToSpace needs NCHW input with C divisible by blocksize² (\(b * b)), got \(x.shape)")
            }
            let (n, c, h, w) = (x.dims[0], x.dims[1] / (b * b), x.dims[2], x.dims[3])
            let split = crd ? [n, c, b, b, h, w] : [n, b, b, c, h, w]
            let perm = crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2]
            let moved = try transposed(try x.reshaped(to: Shape(split)), perm: perm)
            return [try moved.reshaped(to: Shape([n, c, h * b, w * b]))]
        })

    /// SpaceToDepth (1, 13; `mode` from 28): the inverse of DepthToSpace.
    static let spaceToDepth = OperatorDefinition(
        "SpaceToDepth", attributes: ["blocksize", "mode"],
        check: { ctx in
            if ctx.opset < 28 && ctx.has("mode") { throw OpError.attribute("mode", "exists from opset 28") }
            _ = try spaceDepthParameters(ctx)
        },
        infer: { ctx, inputs in
            let x = inputs.first ?? nil
            guard let s = x?.shape, s.count == 4, let (b, _) = try? spaceDepthParameters(ctx) else { return [type(x?.dtype, nil)] }
            return [type(x?.dtype, [s[0], scaled(s[1], times: b * b), scaled(s[2], divide: b), scaled(s[3], divide: b)])]
        },
        run: { ctx, inputs in
            let x = try required(inputs, 0)
            let (b, crd) = try spaceDepthParameters(ctx)
            guard x.dims.count == 4, x.dims[2] % b == 0, x.dims[3] % b == 0 else {
                throw OpError.input(0, "SpaceToDepth needs NCHW input with H and W divisible by blocksize \(b), got \(x.shape)")
            }
            let (n, c, h, w) = (x.dims[0], x.dims[1], x.dims[2] / b, x.dims[3] / b)
            let moved = try transposed(try x.reshaped(to: Shape([n, c, h, b, w, b])), perm: crd ? [0, 1, 3, 5, 2, 4] : [0, 3, 5, 1, 2, 4])
            return [try moved.reshaped(to: Shape([n, c * b * b, h, w]))]
        })

    static func spaceDepthParameters(_ ctx: NodeContext) throws -> (blocksize: Int, crd: Bool) {
        let b = try ctx.int("blocksize")
        guard b > 0 && b <= 1 << 16 else { throw OpError.attribute("blocksize", "must be positive, got \(b)") }
        switch try ctx.string("mode", default: "DCR") {
        case "DCR": return (b, false)
        case "CRD": return (b, true)
        case let m: throw OpError.attribute("mode", "'\(m)' is not DCR or CRD")
        }
    }

    static func scaled(_ d: Dimension, times k: Int = 1, divide q: Int = 1) -> Dimension {
        guard case .value(let v) = d else { return k == 1 && q == 1 ? d : .unknown }
        return .value(v * k / q)
    }
}
