import SegGraph
import SegTensor

/// Output sizes, scales and roi of one Resize/Upsample, per axis of the input.
struct ResizePlan {
    var outputDims: [Int]
    var scales: [Float]
    var roi: [(Float, Float)]
    /// Axes to resize, in the order passes run.
    var order: [Int]

    /// `scales`/`sizes` list one value per entry of `axes` (18+) or per input axis. With sizes,
    /// scales are `Float(size) / Float(input)`; keep_aspect_ratio_policy replaces them by their
    /// min (not_larger) or max (not_smaller) and rounds the sizes again. With scales, sizes are
    /// `floor(Float(input) · scale)` like ORT.
    init(_ ctx: NodeContext, input: [Int], roi roiTensor: Tensor?, scales scaleTensor: Tensor?, sizes sizeTensor: Tensor?,
         coordinates: String) throws {
        let rank = input.count
        var axes = Array(0..<rank)
        if let list = try ctx.ints("axes") {
            axes = try list.map { try ctx.axis($0, rank: rank, name: "axes") }
            guard Set(axes).count == axes.count else { throw OpError.attribute("axes", "\(list) repeats an axis") }
        }
        let scaleValues: [Float]? = try scaleTensor.flatMap { $0.elementCount == 0 ? nil : try NN.floats($0, input: 2) }
        let sizeValues: [Int64]? = try sizeTensor.flatMap { $0.elementCount == 0 ? nil : try NN.integers($0, input: 3) }
        var scales = [Float](repeating: 1, count: rank)
        var outputDims = input
        order = axes
        if let sizeValues {
            guard scaleValues == nil else { throw OpError.input(2, "give scales or sizes, not both") }
            guard sizeValues.count == axes.count else { throw OpError.input(3, "expected \(axes.count) sizes, got \(sizeValues.count)") }
            for (a, s) in zip(axes, sizeValues) {
                guard s >= 0, s <= Int64(Int32.max) else { throw OpError.input(3, "size \(s) is out of range") }
                outputDims[a] = Int(s)
                scales[a] = Float(s) / Float(input[a])
            }
            let policy = try ctx.string("keep_aspect_ratio_policy", default: "stretch")
            if policy != "stretch" {
                let chosen = axes.map { scales[$0] }
                let s = (policy == "not_larger" ? chosen.min() : chosen.max()) ?? 1
                for a in axes {
                    scales[a] = s
                    let size = (s * Float(input[a])).rounded(.toNearestOrAwayFromZero)
                    guard size.isFinite, size >= 0, size <= Float(Int32.max) else { throw OpError.input(3, "size for axis \(a) is out of range") }
                    outputDims[a] = Int(size)
                }
            }
        } else if let scaleValues {
            guard scaleValues.count == axes.count else { throw OpError.input(2, "expected \(axes.count) scales, got \(scaleValues.count)") }
            for (a, s) in zip(axes, scaleValues) {
                let size = Float(input[a]) * s
                guard s > 0, size.isFinite, size <= Float(Int32.max) else { throw OpError.input(2, "scale \(s) for axis \(a) is not usable") }
                scales[a] = s
                outputDims[a] = Int(size)
            }
        } else {
            throw OpError.input(2, "one of scales or sizes is required")
        }
        self.scales = scales
        self.outputDims = outputDims
        roi = [(Float, Float)](repeating: (0, 1), count: rank)
        if coordinates == "tf_crop_and_resize" {
            guard let roiTensor, roiTensor.elementCount == 2 * axes.count else {
                throw OpError.input(1, "tf_crop_and_resize needs roi with \(2 * axes.count) values")
            }
            let values: [Float] = try NN.floats(roiTensor, input: 1)
            for (i, a) in axes.enumerated() { roi[a] = (values[i], values[axes.count + i]) }
        }
        try NN.checkedCount(outputDims, dtype: .f64)
    }
}

extension NeuralNetworkOperators {
    /// Resizes `x` one axis at a time (interpolation is separable), skipping identity axes.
    /// Floats compute in f32 (f64 for f64); integers in f64, then truncated toward zero and
    /// saturated (ORT's `static_cast` after interpolating in float).
    static func resize(_ x: Tensor, plan: ResizePlan, options: ResizeOptions) throws -> Tensor {
        if x.dtype == .f32 || x.dtype == .f16 {
            return try NN.tensor(try resampled(try NN.floats(x, input: 0, as: Float.self), x.dims, plan, options), dims: plan.outputDims, dtype: x.dtype)
        }
        let data: [Double]
        switch x.dtype {
        case .f64: data = try NN.floats(x, input: 0)
        case .i8, .u8, .i32, .i64: data = try NN.integers(x, input: 0).map { Double($0) }
        default: throw OpError.input(0, "\(x.dtype) is not supported by Resize")
        }
        let out = try resampled(data, x.dims, plan, options)
        let shape = try Shape(plan.outputDims)
        func saturate(_ v: Double, _ lo: Double, _ hi: Double) -> Double { v.isNaN ? 0 : min(max(v.rounded(.towardZero), lo), hi) }
        switch x.dtype {
        case .f64: return try Tensor(shape: shape, scalars: out)
        case .i8: return try Tensor(shape: shape, scalars: out.map { Int8(saturate($0, -128, 127)) })
        case .u8: return try Tensor(shape: shape, scalars: out.map { UInt8(saturate($0, 0, 255)) })
        case .i32: return try Tensor(shape: shape, scalars: out.map { Int32(saturate($0, -2147483648, 2147483647)) })
        default: return try Tensor(shape: shape, scalars: out.map { Int64(saturate($0, -9.2e18, 9.2e18)) })
        }
    }

    static func resampled<F: NNFloat>(_ data: [F], _ dims: [Int], _ plan: ResizePlan, _ options: ResizeOptions) throws -> [F] {
        var data = data, dims = dims
        for a in plan.order {
            // ORT's nearest maps a scale-1 axis one to one even under tf_crop_and_resize.
            let identity = plan.scales[a] == 1 && plan.outputDims[a] == dims[a] && (plan.roi[a] == (0, 1) || options.mode == .nearest)
            if identity { continue }
            let axis = try ResizeAxis(input: dims[a], output: plan.outputDims[a], scale: plan.scales[a], roi: plan.roi[a], options: options)
            data = axis.apply(data, dims: dims, axis: a, extrapolation: F(options.extrapolation))
            dims[a] = plan.outputDims[a]
        }
        return data
    }

    /// Output shape from constant scales or sizes; other dims kept (symbolic included) where
    /// the scale is 1, unknown otherwise.
    static func resizeInfer(_ ctx: NodeContext, _ x: TensorType?, scales: InferredValue?, sizes: InferredValue?) throws -> [TensorType?] {
        guard let x, let shape = x.shape else { return [x] }
        let unknown = TensorType(elementType: x.elementType, shape: [Dimension](repeating: .unknown, count: shape.count))
        let sizesConst = sizes?.constant.flatMap { $0.elementCount > 0 ? $0 : nil }
        let scalesConst = scales?.constant.flatMap { $0.elementCount > 0 ? $0 : nil }
        if let concrete = x.concreteDims, sizesConst != nil || scalesConst != nil {
            let plan = try ResizePlan(ctx, input: concrete, roi: nil, scales: scalesConst, sizes: sizesConst, coordinates: "")
            return [TensorType(elementType: x.elementType, shape: plan.outputDims.map { .value($0) })]
        }
        guard let scalesConst, let values = try? NN.floats(scalesConst, input: 2, as: Float.self) else { return [unknown] }
        let axes = try (try ctx.ints("axes") ?? Array(0..<shape.count)).map { try ctx.axis($0, rank: shape.count, name: "axes") }
        guard values.count == axes.count else { return [unknown] }
        var out = shape
        for (a, s) in zip(axes, values) where s != 1 {
            if let d = NN.known(shape[a]), s > 0, Float(d) * s < Float(Int32.max) { out[a] = .value(Int(Float(d) * s)) } else { out[a] = .unknown }
        }
        return [TensorType(elementType: x.elementType, shape: out)]
    }
}
