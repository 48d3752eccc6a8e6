import SegGraph
import SegTensor

extension NeuralNetworkOperators {
    /// BatchNormalization 7–8: the `spatial` attribute exists; only spatial = 1 (per-channel
    /// statistics, what every exporter writes) is implemented.
    static let batchNorm7 = OperatorDefinition(
        "BatchNormalization", versions: 7...8, attributes: ["epsilon", "momentum", "spatial"],
        check: { ctx in
            guard try ctx.int("spatial", default: 1) == 1 else { throw OpError.attribute("spatial", "spatial = 0 (per-element statistics) is not supported") }
        },
        infer: batchNormInfer, run: { ctx, inputs in try batchNorm(ctx, inputs, training: ctx.node.outputs.count > 1) })

    /// BatchNormalization 9–13: training statistics when the optional outputs (running mean,
    /// running var, saved mean, saved var) are requested.
    static let batchNorm9 = OperatorDefinition(
        "BatchNormalization", versions: 9...13, attributes: ["epsilon", "momentum"],
        infer: batchNormInfer, run: { ctx, inputs in try batchNorm(ctx, inputs, training: ctx.node.outputs.count > 1) })

    /// BatchNormalization 14, 15: `training_mode` = 1 normalises with the batch statistics and
    /// outputs the updated running mean and variance.
    static let batchNorm14 = OperatorDefinition(
        "BatchNormalization", versions: 14...Int.max, attributes: ["epsilon", "momentum", "training_mode"],
        infer: batchNormInfer, run: { ctx, inputs in try batchNorm(ctx, inputs, training: try ctx.int("training_mode", default: 0) != 0) })

    static let batchNormInfer: OperatorDefinition.Infer = { _, inputs in
        let x = inputs.first??.type
        let stat = inputs.count > 3 ? inputs[3]?.type : nil
        return [x, stat, stat, stat, stat]
    }

    /// Inference: `y = x · s + (B − mean · s)` with `s = scale / √(var + ε)` per channel, the
    /// way ORT folds it. Training: batch mean and population variance over N and the spatial
    /// axes; running stats `r · momentum + batch · (1 − momentum)`.
    static func batchNorm(_ ctx: NodeContext, _ inputs: [Tensor?], training: Bool) throws -> [Tensor] {
        let xt = try required(inputs, 0)
        guard NN.isFloat(xt.dtype) else { throw OpError.input(0, "BatchNormalization takes f16, f32 or f64, got \(xt.dtype)") }
        if xt.dtype == .f64 { return try batchNorm(Double.self, ctx, inputs, training: training) }
        return try batchNorm(Float.self, ctx, inputs, training: training)
    }

    static func batchNorm<F: NNFloat>(_: F.Type, _ ctx: NodeContext, _ inputs: [Tensor?], training: Bool) throws -> [Tensor] {
        let xt = try required(inputs, 0)
        guard xt.dims.count >= 2 else { throw OpError.input(0, "expected rank 2 or more (N, C, ...), got \(xt.shape)") }
        let channels = xt.dims[1], batch = xt.dims[0]
        let inner = xt.dims.dropFirst(2).reduce(1, *)
        var params: [[F]] = []
        for i in 1...4 {
            let t = try required(inputs, i)
            let v: [F] = try NN.floats(t, input: i)
            guard v.count == channels else { throw OpError.input(i, "expected \(channels) values (one per channel), got shape \(t.shape)") }
            params.append(v)
        }
        let (scale, bias) = (params[0], params[1])
        var (mean, variance) = (params[2], params[3])
        let epsilon = F(try ctx.float("epsilon", default: 1e-5))
        let momentum = F(try ctx.float("momentum", default: 0.9))
        let x: [F] = try NN.floats(xt, input: 0)
        var extra: [[F]] = []
        if training {
            let count = F(batch * inner)
            var batchMean = [F](repeating: 0, count: channels), batchVar = [F](repeating: 0, count: channels)
            for c in 0..<channels {
                var sum: F = 0
                for n in 0..<batch { let base = (n * channels + c) * inner; for i in 0..<inner { sum += x[base + i] } }
                let mu = sum / count
                var sq: F = 0
                for n in 0..<batch { let base = (n * channels + c) * inner; for i in 0..<inner { let d = x[base + i] - mu; sq += d * d } }
                batchMean[c] = mu
                batchVar[c] = sq / count
            }
            let running = zip(mean, batchMean).map { $0 * momentum + $1 * (1 - momentum) }
            let runningVar = zip(variance, batchVar).map { $0 * momentum + $1 * (1 - momentum) }
            extra = [running, runningVar, batchMean, batchVar]
            mean = batchMean
            variance = batchVar
        }
        var y = x
        for c in 0..<channels {
            let s = scale[c] * (1 / (variance[c] + epsilon).squareRoot())
            let b = bias[c] - mean[c] * s
            for n in 0..<batch { let base = (n * channels + c) * inner; for i in 0..<inner { y[base + i] = x[base + i] * s + b } }
        }
        let statType = try required(inputs, 3).dtype
        return [try NN.tensor(y, dims: xt.dims, dtype: xt.dtype)]
            + (try extra.prefix(ctx.node.outputs.count - 1).map { try NN.tensor($0, dims: [channels], dtype: statType) })
    }

    /// InstanceNormalization (1, 6): per (n, c) mean and variance over the spatial axes.
    static let instanceNorm = OperatorDefinition(
        "InstanceNormalization", attributes: ["epsilon"], infer: sameAsInput(0)
    ) { ctx, inputs in
        let xt = try required(inputs, 0)
        guard NN.isFloat(xt.dtype) else { throw OpError.input(0, "InstanceNormalization takes f16, f32 or f64, got \(xt.dtype)") }
        if xt.dtype == .f64 { return [try instanceNorm(Double.self, ctx, inputs)] }
        return [try instanceNorm(Float.self, ctx, inputs)]
    }

    static func instanceNorm<F: NNFloat>(_: F.Type, _ ctx: NodeContext, _ inputs: [Tensor?]) throws -> Tensor {
        let xt = try required(inputs, 0)
        guard xt.dims.count >= 3 else { throw OpError.input(0, "expected rank 3 or more (N, C, spatial...), got \(xt.shape)") }
        let channels = xt.dims[1], inner = xt.dims.dropFirst(2).reduce(1, *)
        let scale: [F] = try NN.floats(try required(inputs, 1), input: 1), bias: [F] = try NN.floats(try required(inputs, 2), input: 2)
        guard scale.count == channels, bias.count == channels else { throw OpError.input(1, "scale and B need \(channels) values each") }
        let epsilon = F(try ctx.float("epsilon", default: 1e-5))
        var y: [F] = try NN.floats(xt, input: 0)
        normalizeRows(&y, rowLength: inner, epsilon: epsilon) { row, i in (scale[row % channels], bias[row % channels]) }
        return try NN.tensor(y, dims: xt.dims, dtype: xt.dtype)
    }

    /// Normalises every row of `rowLength` elements to zero mean and unit variance (two-pass,
    /// population variance), then applies the affine `(γ, β)` that `affine(row, column)` gives.
    /// Returns each row's mean and 1/√(var + ε).
    @discardableResult
    static func normalizeRows<F: NNFloat>(_ y: inout [F], rowLength: Int, epsilon: F,
                                          affine: (Int, Int) -> (F, F)) -> (mean: [F], invStd: [F]) {
        guard rowLength > 0 else { return ([], []) }
        let rows = y.count / rowLength
        var means = [F](repeating: 0, count: rows), invStds = [F](repeating: 0, count: rows)
        for r in 0..<rows {
            let base = r * rowLength
            var sum: F = 0
            for i in 0..<rowLength { sum += y[base + i] }
            let mean = sum / F(rowLength)
            var sq: F = 0
            for i in 0..<rowLength { let d = y[base + i] - mean; sq += d * d }
            let invStd = 1 / (sq / F(rowLength) + epsilon).squareRoot()
            for i in 0..<rowLength {
                let (g, b) = affine(r, i)
                y[base + i] = (y[base + i] - mean) * invStd * g + b
            }
            means[r] = mean
            invStds[r] = invStd
        }
        return (means, invStds)
    }
}
