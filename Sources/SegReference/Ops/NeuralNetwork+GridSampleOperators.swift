import SegGraph
import SegTensor

/// How one GridSample node samples: interpolation, what lies outside the input, and where the
/// normalised corners -1 and 1 fall (centres of the corner pixels, or their outer edges).
package struct GridSampleOptions: Sendable, Equatable {
    package enum Mode: Sendable, Equatable { case nearest, linear, cubic }
    package enum Padding: String, Sendable, Equatable { case zeros, border, reflection }

    package var mode: Mode
    package var padding: Padding
    package var alignCorners: Bool

    package init(mode: Mode = .linear, padding: Padding = .zeros, alignCorners: Bool = false) {
        self.mode = mode
        self.padding = padding
        self.alignCorners = alignCorners
    }

    /// The node's settings. Opset 16 names the modes `bilinear`/`bicubic` and takes 4-D inputs
    /// only; opset 20 renamed them `linear`/`cubic` and made the op N-D.
    package init(_ ctx: NodeContext) throws(OpError) {
        let legacy = ctx.opset < 20
        let name = try ctx.string("mode", default: legacy ? "bilinear" : "linear")
        switch (name, legacy) {
        case ("nearest", _): mode = .nearest
        case ("bilinear", true), ("linear", false): mode = .linear
        case ("bicubic", true), ("cubic", false): mode = .cubic
        default:
            throw .attribute("mode", "'\(name)' is not a GridSample mode at opset \(ctx.opset) (\(legacy ? "bilinear, nearest, bicubic" : "linear, nearest, cubic"))")
        }
        let paddingName = try ctx.string("padding_mode", default: "zeros")
        guard let padding = Padding(rawValue: paddingName) else {
            throw .attribute("padding_mode", "'\(paddingName)' is not supported (zeros, border, reflection)")
        }
        self.padding = padding
        let align = try ctx.int("align_corners", default: 0)
        guard align == 0 || align == 1 else { throw .attribute("align_corners", "expected 0 or 1, got \(align)") }
        alignCorners = align == 1
    }
}

extension NeuralNetworkOperators {
    static let gridSampleAttributes: Set<String> = ["mode", "padding_mode", "align_corners"]

    /// GridSample 16 (4-D only), 20 and 22 (N-D; 22 adds bfloat16, which we do not load).
    static let gridSample16 = gridSampleDefinition(versions: 16...19)
    static let gridSample20 = gridSampleDefinition(versions: 20...Int.max)

    static func gridSampleDefinition(versions: ClosedRange<Int>) -> OperatorDefinition {
        OperatorDefinition(
            "GridSample", versions: versions, attributes: gridSampleAttributes,
            check: { _ = try GridSampleOptions($0) },
            infer: { ctx, inputs in
                try gridSampleInfer(ctx, inputs.first??.type, inputs.count > 1 ? inputs[1]?.type : nil)
            }
        ) { ctx, inputs in
            let x = try required(inputs, 0), grid = try required(inputs, 1)
            let outputDims = try gridSampleOutputDims(ctx, x.dims, grid.dims)
            return [try gridSample(x, grid: grid, outputDims: outputDims, options: try GridSampleOptions(ctx))]
        }
    }

    /// (N, C, D1_out, ..., Dr_out) from X (N, C, d1, ..., dr) and grid (N, D1_out, ..., Dr_out, r).
    static func gridSampleOutputDims(_ ctx: NodeContext, _ x: [Int], _ grid: [Int]) throws -> [Int] {
        guard x.count >= 3 else { throw OpError.input(0, "X must have rank 3 or more (N, C, spatial...), got \(x)") }
        guard ctx.opset >= 20 || x.count == 4 else { throw OpError.input(0, "GridSample-\(ctx.opset) takes 4-D X (N, C, H, W), got \(x)") }
        guard grid.count == x.count, grid.last == x.count - 2 else {
            throw OpError.input(1, "grid must be (N, spatial out..., \(x.count - 2)) for X \(x), got \(grid)")
        }
        guard grid[0] == x[0] else { throw OpError.input(1, "grid batch \(grid[0]) differs from X batch \(x[0])") }
        let out = [x[0], x[1]] + grid[1..<(grid.count - 1)]
        try NN.checkedCount(out, dtype: .f64)
        return out
    }

    static func gridSampleInfer(_ ctx: NodeContext, _ x: TensorType?, _ grid: TensorType?) throws -> [TensorType?] {
        guard let x else { return [nil] }
        if let grid, let gs = grid.elementType, !NN.isFloat(gs) { throw OpError.input(1, "grid must be a float tensor, got \(gs)") }
        guard let xs = x.shape else { return [TensorType(elementType: x.elementType, shape: nil)] }
        guard let gshape = grid?.shape else {
            // The output rank is X's even when the grid's sizes are unknown.
            return [TensorType(elementType: x.elementType, shape: xs.count >= 3 ? [xs[0], xs[1]] + Array(repeating: .unknown, count: xs.count - 2) : nil)]
        }
        guard ctx.opset >= 20 || xs.count == 4 else { throw OpError.input(0, "GridSample-\(ctx.opset) takes 4-D X, got rank \(xs.count)") }
        guard xs.count >= 3, gshape.count == xs.count else {
            throw OpError.input(1, "grid rank \(gshape.count) must equal X rank \(xs.count) (3 or more)")
        }
        if let last = NN.known(gshape[xs.count - 1]), last != xs.count - 2 {
            throw OpError.input(1, "grid's last dimension is \(last), expected \(xs.count - 2)")
        }
        let batch = NN.known(xs[0]) != nil ? xs[0] : gshape[0]
        return [TensorType(elementType: x.elementType, shape: [batch, xs[1]] + gshape[1..<(xs.count - 1)])]
    }

    /// f16 and f32 X compute in f32 (with any grid dtype: the spec's reference maps coordinates
    /// in f32) and f64 in f64; integer X computes in f64, then truncates toward zero and
    /// saturates (as Resize does).
    static func gridSample(_ x: Tensor, grid: Tensor, outputDims: [Int], options: GridSampleOptions) throws -> Tensor {
        guard NN.isFloat(grid.dtype) else { throw OpError.input(1, "grid must be a float tensor, got \(grid.dtype)") }
        if x.dtype == .f32 || x.dtype == .f16 {
            let sampler = try GridSampler<Float>(x: x.dims, grid: grid.dims, options: options)
            let out = sampler.run(try NN.floats(x, input: 0), grid: try NN.floats(grid, input: 1))
            return try NN.tensor(out, dims: outputDims, dtype: x.dtype)
        }
        let sampler = try GridSampler<Double>(x: x.dims, grid: grid.dims, options: options)
        let g: [Double] = try NN.floats(grid, input: 1)
        switch x.dtype {
        case .f16, .f32, .f64:
            return try NN.tensor(sampler.run(try NN.floats(x, input: 0), grid: g), dims: outputDims, dtype: x.dtype)
        case .i8, .u8, .i16, .u16, .i32, .u32, .i64:
            let out = sampler.run(try NN.integers(x, input: 0).map { Double($0) }, grid: g)
            return try integerTensor(out, dims: outputDims, dtype: x.dtype)
        default:
            throw OpError.input(0, "\(x.dtype) is not supported by GridSample")
        }
    }

    /// Interpolated values back in an integer dtype: truncated toward zero, saturated, NaN as 0.
    static func integerTensor(_ values: [Double], dims: [Int], dtype: DType) throws -> Tensor {
        let shape = try Shape(dims)
        func cast<I: FixedWidthInteger & TensorScalar>(_: I.Type) throws -> Tensor {
            try Tensor(shape: shape, scalars: values.map { v -> I in
                guard !v.isNaN else { return 0 }
                let t = v.rounded(.towardZero)
                if t <= Double(I.min) { return I.min }
                if t >= Double(I.max) { return I.max }
                return I(t)
            })
        }
        switch dtype {
        case .i8: return try cast(Int8.self)
        case .u8: return try cast(UInt8.self)
        case .i16: return try cast(Int16.self)
        case .u16: return try cast(UInt16.self)
        case .i32: return try cast(Int32.self)
        case .u32: return try cast(UInt32.self)
        default: return try cast(Int64.self)
        }
    }
}
