import SegGraph
import SegTensor

/// One pooling window geometry, precomputed per axis: for every output position, the input
/// positions its window reads (padding and dilation applied) and how many taps fall inside
/// the explicit padding region (for count_include_pad).
struct PoolPlan {
    enum Mode { case max, average(includePad: Bool), lp(p: Double) }

    var planes: Int
    var axes: [SpatialAxis]
    var outputDims: [Int]

    static let attributes = ConvGeometry.attributeNames.union(["ceil_mode"])

    init(_ ctx: NodeContext, x: [Int]) throws {
        let attrs = try ConvGeometry(ctx.node)
        guard x.count >= 3 else { throw OpError.input(0, "expected rank 3 or more (N, C, spatial...), got \(x)") }
        let rank = x.count - 2
        axes = try attrs.forwardAxes(input: Array(x[2...]), kernel: try attrs.kernel(rank: rank, fromWeights: nil), dilatedSamePad: false)
        planes = x[0] * x[1]
        outputDims = Array(x[..<2]) + axes.map(\.output)
        try NN.checkedCount(outputDims, dtype: .f64)
    }

    static func infer(_ ctx: NodeContext, _ x: TensorType?) throws -> TensorType? {
        guard let x, let shape = x.shape, shape.count >= 3 else { return x.map { TensorType(elementType: $0.elementType, shape: nil) } }
        let attrs = try ConvGeometry(ctx.node)
        guard let kernel = attrs.kernelShape, kernel.count == shape.count - 2 else { return TensorType(elementType: x.elementType, shape: nil) }
        var out = Array(shape[..<2])
        for i in 0..<kernel.count {
            if let input = NN.known(shape[2 + i]) {
                out.append(.value(try attrs.forwardAxis(i, input: input, kernel: kernel[i], rank: kernel.count, dilatedSamePad: false).output))
            } else {
                out.append(.unknown)
            }
        }
        return TensorType(elementType: x.elementType, shape: out)
    }

    /// Pools every N·C plane; for max also returns each winner's flat input index (row-major,
    /// or column-major within the plane when `columnMajor`), ties going to the first.
    func pool<F: NNFloat>(_ x: [F], mode: Mode, columnMajor: Bool = false) throws -> (values: [F], indices: [Int64]) {
        let a = try SpatialAxis.canonical3(axes)
        let inPlane = a[0].input * a[1].input * a[2].input
        guard x.count == planes * inPlane else { throw OpError.input(0, "element count does not match the shape") }
        // Per axis and output position: valid input positions, and taps inside input + pads.
        let windows = a.map(\.windows), padded = a.map(\.paddedTapCounts)
        let (H, W, D) = (a[1].input, a[2].input, a[0].input)
        var values: [F] = []
        var indices: [Int64] = []
        values.reserveCapacity(planes * a[0].output * a[1].output * a[2].output)
        for plane in 0..<planes {
            let base = plane * inPlane
            for od in 0..<a[0].output { for oh in 0..<a[1].output { for ow in 0..<a[2].output {
                var best = -F.greatestFiniteMagnitude, bestIndex = -1, sum: F = 0, count = 0
                for d in windows[0][od] { for h in windows[1][oh] { for w in windows[2][ow] {
                    let v = x[base + (d * H + h) * W + w]
                    switch mode {
                    case .max:
                        if v > best || bestIndex < 0 && v == best {
                            best = v
                            bestIndex = columnMajor ? (w * H + h) * D + d : (d * H + h) * W + w
                        }
                    case .average: sum += v
                    case .lp(let p): sum += F.nnPow(abs(v), F(p))
                    }
                    count += 1
                } } }
                switch mode {
                case .max:
                    values.append(best)
                    indices.append(bestIndex < 0 ? -1 : Int64(base + bestIndex))
                case .average(let includePad):
                    let divisor = includePad ? padded[0][od] * padded[1][oh] * padded[2][ow] : count
                    values.append(divisor > 0 ? sum / F(divisor) : F.nan)
                case .lp(let p):
                    values.append(F.nnPow(sum, F(1 / p)))
                }
            } } }
        }
        return (values, indices)
    }
}

extension NeuralNetworkOperators {
    /// AveragePool (1, 7, 10, 11, 19): count_include_pad counts the taps inside the explicit
    /// padding (never those past it that ceil_mode adds); dilations from 19.
    static let averagePool = OperatorDefinition(
        "AveragePool", attributes: PoolPlan.attributes.union(["count_include_pad"]),
        check: { _ = try ConvGeometry($0.node) },
        infer: { ctx, inputs in [try PoolPlan.infer(ctx, inputs.first??.type)] }
    ) { ctx, inputs in
        let x = try required(inputs, 0)
        let mode = PoolPlan.Mode.average(includePad: try ctx.int("count_include_pad", default: 0) != 0)
        return [try floatPool(ctx, x, mode: mode)]
    }

    /// LpPool (1, 2, 11, 18): `(Σ |x|^p)^(1/p)` over each window, padding contributing nothing.
    static let lpPool = OperatorDefinition(
        "LpPool", attributes: PoolPlan.attributes.union(["p"]),
        check: { _ = try ConvGeometry($0.node) },
        infer: { ctx, inputs in [try PoolPlan.infer(ctx, inputs.first??.type)] }
    ) { ctx, inputs in
        let x = try required(inputs, 0)
        return [try floatPool(ctx, x, mode: .lp(p: Double(try ctx.float("p", default: 2))))]
    }

    static func floatPool(_ ctx: NodeContext, _ x: Tensor, mode: PoolPlan.Mode) throws -> Tensor {
        guard NN.isFloat(x.dtype) else { throw OpError.input(0, "\(ctx.node.opType) takes f16, f32 or f64, got \(x.dtype)") }
        let plan = try PoolPlan(ctx, x: x.dims)
        if x.dtype == .f64 { return try NN.tensor(try plan.pool(NN.floats(x, input: 0, as: Double.self), mode: mode).values, dims: plan.outputDims, dtype: x.dtype) }
        return try NN.tensor(try plan.pool(NN.floats(x, input: 0, as: Float.self), mode: mode).values, dims: plan.outputDims, dtype: x.dtype)
    }

    /// MaxPool (1, 8, 10, 11, 12): f16/f32/f64/i8/u8, with the optional Indices output
    /// (flat input index; storage_order 1 is column-major within each plane).
    static let maxPool = OperatorDefinition(
        "MaxPool", attributes: PoolPlan.attributes.union(["storage_order"]),
        check: { _ = try ConvGeometry($0.node) },
        infer: { ctx, inputs in
            let y = try PoolPlan.infer(ctx, inputs.first??.type)
            return [y, y.map { TensorType(elementType: .i64, shape: $0.shape) }]
        }
    ) { ctx, inputs in
        let x = try required(inputs, 0)
        let plan = try PoolPlan(ctx, x: x.dims)
        let columnMajor = try ctx.int("storage_order", default: 0) != 0
        let widened: [Double]
        switch x.dtype {
        case .f16, .f32, .f64: widened = try NN.floats(x, input: 0)
        case .i8, .u8: widened = try NN.integers(x, input: 0).map { Double($0) }
        default: throw OpError.input(0, "MaxPool takes f16, f32, f64, i8 or u8, got \(x.dtype)")
        }
        let (values, indices) = try plan.pool(widened, mode: .max, columnMajor: columnMajor)
        let shape = try Shape(plan.outputDims)
        let y: Tensor
        switch x.dtype {
        // An all-padding window has no winner; clamp its sentinel into the integer range.
        case .i8: y = try Tensor(shape: shape, scalars: values.map { Int8(min(max($0, -128), 127)) })
        case .u8: y = try Tensor(shape: shape, scalars: values.map { UInt8(min(max($0, 0), 255)) })
        default: y = try NN.tensor(values, dims: plan.outputDims, dtype: x.dtype)
        }
        return ctx.node.outputs.count > 1 ? [y, try Tensor(shape: shape, scalars: indices)] : [y]
    }
}
