import SegGraph
import SegTensor

extension NeuralNetworkOperators {
    /// LayerNormalization (17): normalises over the axes from `axis` on; Scale and B broadcast
    /// to those axes. The optional Mean and InvStdDev outputs have X's shape with the
    /// normalised axes set to 1, typed f32 (stash_type 1) or f64 for f64 inputs.
    static let layerNorm = OperatorDefinition(
        "LayerNormalization", versions: 17...Int.max, attributes: ["axis", "epsilon", "stash_type"],
        check: { ctx in
            let stash = try ctx.int("stash_type", default: 1)
            guard stash == 1 || stash == 11 else { throw OpError.attribute("stash_type", "\(stash) is not supported (1 or 11)") }
        },
        infer: { ctx, inputs in
            guard let x = inputs.first??.type else { return [nil, nil, nil] }
            let statType = layerNormStatType(x.elementType)
            guard let shape = x.shape else { return [x, TensorType(elementType: statType, shape: nil), TensorType(elementType: statType, shape: nil)] }
            let axis = try ctx.axis(try ctx.int("axis", default: -1), rank: shape.count)
            let stat = TensorType(elementType: statType, shape: Array(shape[..<axis]) + [Dimension](repeating: .value(1), count: shape.count - axis))
            return [x, stat, stat]
        }
    ) { ctx, inputs in
        let xt = try required(inputs, 0)
        guard NN.isFloat(xt.dtype) else { throw OpError.input(0, "LayerNormalization takes f16, f32 or f64, got \(xt.dtype)") }
        if xt.dtype == .f64 { return try layerNorm(Double.self, ctx, inputs) }
        return try layerNorm(Float.self, ctx, inputs)
    }

    static func layerNormStatType(_ x: DType?) -> DType? { x == .f64 ? .f64 : x == nil ? nil : .f32 }

    static func layerNorm<F: NNFloat>(_: F.Type, _ ctx: NodeContext, _ inputs: [Tensor?]) throws -> [Tensor] {
        let xt = try required(inputs, 0)
        let rank = xt.dims.count
        let axis = try ctx.axis(try ctx.int("axis", default: -1), rank: rank)
        let rowLength = xt.dims[axis...].reduce(1, *)
        let epsilon = F(try ctx.float("epsilon", default: 1e-5))
        let scale = try broadcastParameter(F.self, try required(inputs, 1), input: 1, to: xt.dims, rowLength: rowLength)
        let bias = try optional(inputs, 2).map { try broadcastParameter(F.self, $0, input: 2, to: xt.dims, rowLength: rowLength) }
        var y: [F] = try NN.floats(xt, input: 0)
        let stats = normalizeRows(&y, rowLength: rowLength, epsilon: epsilon) { row, i in
            (scale(row * rowLength + i), bias?(row * rowLength + i) ?? 0)
        }
        let statDims = Array(xt.dims[..<axis]) + [Int](repeating: 1, count: rank - axis)
        let statType = layerNormStatType(xt.dtype) ?? .f32
        return [try NN.tensor(y, dims: xt.dims, dtype: xt.dtype),
                try NN.tensor(stats.mean, dims: statDims, dtype: statType),
                try NN.tensor(stats.invStd, dims: statDims, dtype: statType)]
    }

    /// A parameter broadcast to `dims`, read by flat element index. The usual case (one value
    /// per normalised element) needs no index map.
    static func broadcastParameter<F: NNFloat>(_: F.Type, _ t: Tensor, input: Int, to dims: [Int], rowLength: Int) throws -> (Int) -> F {
        let v: [F] = try NN.floats(t, input: input)
        if v.count == rowLength, t.dims.count <= dims.count { return { v[$0 % rowLength] } }
        guard t.dims.count <= dims.count, (try? Broadcast.shape([t.dims, dims])) == dims else {
            throw OpError.input(input, "shape \(t.shape) does not broadcast to \(dims)")
        }
        let map = Broadcast.indexMap(from: t.dims, to: dims)
        return { v[map[$0]] }
    }

    /// GroupNormalization 18 (scale and bias per group) and 21 (per channel): statistics over
    /// each group of C / num_groups channels and the spatial axes.
    static let groupNorm18 = OperatorDefinition(
        "GroupNormalization", versions: 18...20, attributes: ["epsilon", "num_groups"], infer: sameAsInput(0)
    ) { ctx, inputs in try groupNorm(ctx, inputs, perChannel: false) }

    static let groupNorm21 = OperatorDefinition(
        "GroupNormalization", versions: 21...Int.max, attributes: ["epsilon", "num_groups", "stash_type"],
        check: { ctx in
            guard try ctx.int("stash_type", default: 1) == 1 else { throw OpError.attribute("stash_type", "only 1 (f32 statistics) is supported") }
        },
        infer: sameAsInput(0)
    ) { ctx, inputs in try groupNorm(ctx, inputs, perChannel: true) }

    static func groupNorm(_ ctx: NodeContext, _ inputs: [Tensor?], perChannel: Bool) throws -> [Tensor] {
        let xt = try required(inputs, 0)
        guard NN.isFloat(xt.dtype) else { throw OpError.input(0, "GroupNormalization takes f16, f32 or f64, got \(xt.dtype)") }
        if xt.dtype == .f64 { return [try groupNorm(Double.self, ctx, inputs, perChannel: perChannel)] }
        return [try groupNorm(Float.self, ctx, inputs, perChannel: perChannel)]
    }

    static func groupNorm<F: NNFloat>(_: F.Type, _ ctx: NodeContext, _ inputs: [Tensor?], perChannel: Bool) throws -> Tensor {
        let xt = try required(inputs, 0)
        guard xt.dims.count >= 2 else { throw OpError.input(0, "expected rank 2 or more (N, C, ...), got \(xt.shape)") }
        let channels = xt.dims[1], inner = xt.dims.dropFirst(2).reduce(1, *)
        let groups = try ctx.int("num_groups")
        guard groups >= 1, channels % groups == 0 else { throw OpError.attribute("num_groups", "\(groups) does not divide \(channels) channels") }
        let scale: [F] = try NN.floats(try required(inputs, 1), input: 1), bias: [F] = try NN.floats(try required(inputs, 2), input: 2)
        let expected = perChannel ? channels : groups
        guard scale.count == expected, bias.count == expected else { throw OpError.input(1, "scale and bias need \(expected) values each") }
        let epsilon = F(try ctx.float("epsilon", default: 1e-5))
        let perGroup = channels / groups
        var y: [F] = try NN.floats(xt, input: 0)
        normalizeRows(&y, rowLength: perGroup * inner, epsilon: epsilon) { row, i in
            let index = perChannel ? (row % groups) * perGroup + i / max(1, inner) : row % groups
            return (scale[index], bias[index])
        }
        return try NN.tensor(y, dims: xt.dims, dtype: xt.dtype)
    }

    /// LpNormalization (1, 22): `x / ‖x‖_p` along `axis` for p = 1 or 2; a zero norm gives zeros
    /// (as ORT does).
    static let lpNorm = OperatorDefinition(
        "LpNormalization", attributes: ["axis", "p"],
        check: { ctx in
            let p = try ctx.int("p", default: 2)
            guard p == 1 || p == 2 else { throw OpError.attribute("p", "\(p) is not supported (1 or 2)") }
        },
        infer: sameAsInput(0)
    ) { ctx, inputs in
        let xt = try required(inputs, 0)
        guard NN.isFloat(xt.dtype) else { throw OpError.input(0, "LpNormalization takes f16, f32 or f64, got \(xt.dtype)") }
        if xt.dtype == .f64 { return [try lpNorm(Double.self, ctx, xt)] }
        return [try lpNorm(Float.self, ctx, xt)]
    }

    static func lpNorm<F: NNFloat>(_: F.Type, _ ctx: NodeContext, _ xt: Tensor) throws -> Tensor {
        let axis = try ctx.axis(try ctx.int("axis", default: -1), rank: xt.dims.count)
        let p = try ctx.int("p", default: 2)
        guard !xt.dims.isEmpty else { throw OpError.input(0, "expected at least rank 1") }
        let length = xt.dims[axis], inner = xt.dims[(axis + 1)...].reduce(1, *)
        let outer = xt.dims[..<axis].reduce(1, *)
        var y: [F] = try NN.floats(xt, input: 0)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * length * inner + i
                var norm: F = 0
                for k in 0..<length { let v = y[base + k * inner]; norm += p == 1 ? abs(v) : v * v }
                if p == 2 { norm = norm.squareRoot() }
                for k in 0..<length { y[base + k * inner] = norm == 0 ? 0 : y[base + k * inner] / norm }
            }
        }
        return try NN.tensor(y, dims: xt.dims, dtype: xt.dtype)
    }
}
