import SegGraph
import SegKernels
import SegRewrite
import SegTensor

/// Conv nodes on SegKernels' `Conv2D` plans (pointwise GEMM, direct depthwise, implicit
/// GEMM), with the bias, a following activation and a residual Add fused in.
enum ConvPath {
    /// A Conv's (or FusedConv's) geometry as SegKernels' `Conv2D` takes it.
    struct Geometry {
        var x: String
        var batch: Int
        var weights: Tensor
        var bias: [Float]?
        var shape: Conv2DShape
        var trimmed: (rows: Range<Int>, columns: Range<Int>, pads: [Int])
        /// The node's own pads (top, left, bottom, right), before trimming.
        var pads: [Int]
    }

    /// The geometry of a Conv or FusedConv node, or nil when `Conv2D` does not run it (input
    /// not in the arena or not 4-D, weights or bias not f32 constants, unusual attributes).
    static func geometry(_ node: Node, _ b: PlanBuilder) throws -> Geometry? {
        guard node.inputs.count >= 2, let x = node.inputs.first, b.isPlanned(x), let xd = b.dims(x), xd.count == 4,
              let w = b.constant(node.inputs[1]), w.dtype == .f32, w.dims.count == 4,
              let out = node.outputs.first, b.isPlanned(out), let od = b.dims(out), od.count == 4 else { return nil }
        var bias: [Float]? = nil
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            guard let bt = b.constant(node.inputs[2]), bt.dtype == .f32, bt.elementCount == w.dims[0] else { return nil }
            bias = try bt.scalars(as: Float.self)
        }
        let group = node[attribute: "group"]?.intValue ?? 1
        // Malformed attributes fall through to the reference, which reports them.
        let (kh, kw) = (w.dims[2], w.dims[3])
        guard let window = try? ConvGeometry(node), let kernel = try? window.kernel(rank: 2, fromWeights: [kh, kw]),
              let axes = try? window.forwardAxes(input: [xd[2], xd[3]], kernel: kernel) else { return nil }
        let strides = axes.map(\.stride), dilations = axes.map(\.dilation)
        let pads = [axes[0].padBegin, axes[1].padBegin, axes[0].padEnd, axes[1].padEnd]
        // Taps that read only padding for every output (large dilations on small maps, as in
        // DeepLab's ASPP) multiply zeros: drop whole kernel rows/columns of them, exactly.
        let trimmed = TapTrim.trim(kernel: (kh, kw), input: (xd[2], xd[3]), output: (od[2], od[3]),
                                   strides: (strides[0], strides[1]), dilations: (dilations[0], dilations[1]), pads: pads)
        let shape = Conv2DShape(inputChannels: xd[1], height: xd[2], width: xd[3], outputChannels: w.dims[0],
                                kernelH: trimmed.rows.count, kernelW: trimmed.columns.count,
                                strides: (strides[0], strides[1]), pads: (trimmed.pads[0], trimmed.pads[1], trimmed.pads[2], trimmed.pads[3]),
                                dilations: (dilations[0], dilations[1]), groups: group)
        guard shape.outputHeight == od[2], shape.outputWidth == od[3], w.dims[1] * group == xd[1] else { return nil }
        return Geometry(x: x, batch: xd[0], weights: w, bias: bias, shape: shape, trimmed: trimmed, pads: pads)
    }

    /// A Conv, or a FusedConv with its residual (input 3) and epilogue activation, on one
    /// `ConvStep`. The fusion itself is SegRewrite's `FuseConvActivation`.
    static func select(_ node: Node, in b: PlanBuilder) throws -> PlanBuilder.Pending? {
        guard let g = try geometry(node, b), let writes = node.outputs.first else { return nil }
        var residual: String? = nil
        var activation: Activation = .none
        var kind = "Conv"
        if FusedOps.isFused(node, FusedOps.fusedConv) {
            if node.inputs.count > 3, !node.inputs[3].isEmpty {
                residual = node.inputs[3]
                kind = "Conv+Add"
            }
            if let a = try EpilogueActivation(fusedNode: node) {
                activation = a.kernelActivation
                kind += "+act"
            }
        }
        let (kh, kw) = (g.weights.dims[2], g.weights.dims[3])
        if residual == nil, let step = try tapwise(g, activation: activation, kind: kind, writes: writes, b) { return step }
        let weights = TapTrim.slice(try g.weights.scalars(as: Float.self), dims: g.weights.dims, rows: g.trimmed.rows, columns: g.trimmed.columns)
        if g.trimmed.rows.count != kh || g.trimmed.columns.count != kw { kind += " (taps trimmed)" }
        let shape = g.shape, options = b.context.options
        let conv: Conv2D = try weights.withUnsafeBufferPointer { wp in
            guard let wBase = wp.baseAddress else { throw KernelError.invalidParameter("weights", value: "empty", requirement: "non-empty") }
            if let bias = g.bias {
                return try bias.withUnsafeBufferPointer { bp in
                    try Conv2D(shape: shape, weights: wBase, bias: bp.baseAddress, activation: activation, options: options)
                }
            }
            return try Conv2D(shape: shape, weights: wBase, bias: nil, activation: activation, options: options)
        }
        let x = g.x, batch = g.batch
        let reads = [x] + (residual.map { [$0] } ?? [])
        return .init(reads: reads, writes: [writes], kind: kind) { [kind] slot in
            ConvStep(conv: conv, input: slot(x), output: slot(writes), residual: residual.map(slot), batch: batch, context: b.context, kind: kind)
        }
    }

    /// A dilated stride-1 conv on `TapwiseConv` when its taps read padding over so much of the
    /// output that skipping it per tap saves at least a quarter of the trimmed kernel's
    /// multiply-adds (DeepLab's ASPP at 1/16 scale); nil otherwise.
    static func tapwise(_ g: Geometry, activation: Activation, kind: String, writes: String, _ b: PlanBuilder) throws -> PlanBuilder.Pending? {
        let s = g.shape
        guard b.context.options.tapwiseConv, s.groups == 1, s.strideH == 1, s.strideW == 1, s.dilationH > 1 || s.dilationW > 1 else { return nil }
        let (kh, kw) = (g.weights.dims[2], g.weights.dims[3])
        var full = s
        (full.kernelH, full.kernelW) = (kh, kw)
        full.pads = (g.pads[0], g.pads[1], g.pads[2], g.pads[3])
        guard full.outputHeight == s.outputHeight, full.outputWidth == s.outputWidth else { return nil }
        let trimmedMACs = s.outputHeight * s.outputWidth * s.kernelH * s.kernelW * s.inputChannels * s.outputChannels
        guard TapwiseConv.multiplyAdds(full) * 4 <= trimmedMACs * 3 else { return nil }
        let weights = try g.weights.scalars(as: Float.self)
        let conv: TapwiseConv? = try weights.withUnsafeBufferPointer { wp in
            try (g.bias ?? []).withUnsafeBufferPointer { bp in
                try TapwiseConv(shape: full, weights: wp.baseAddress!, bias: g.bias == nil ? nil : bp.baseAddress,
                                activation: activation, options: b.context.options)
            }
        }
        guard let conv else { return nil }
        let x = g.x, batch = g.batch, tapKind = kind + " (tapwise)"
        return .init(reads: [x], writes: [writes], kind: tapKind) { slot in
            TapwiseConvStep(conv: conv, input: slot(x), output: slot(writes), batch: batch, context: b.context, kind: tapKind)
        }
    }

    /// Whether `value` is ready when the node at `index` runs (a graph input or produced by an
    /// earlier node), so it can be read as that node's residual.
    static func availableBefore(_ value: String, index: Int, _ b: PlanBuilder) -> Bool {
        if b.model.graph.runtimeInputs.contains(where: { $0.name == value }) { return true }
        guard let p = b.nodes.firstIndex(where: { $0.outputs.contains(value) }) else { return false }
        return p < index
    }
}

/// Kernel rows/columns whose taps fall in the padding for every output position.
enum TapTrim {
    /// The kernel rows and columns to keep (contiguous ranges) and the pads that keep the
    /// output size; the whole kernel when nothing can be dropped.
    static func trim(kernel: (Int, Int), input: (Int, Int), output: (Int, Int), strides: (Int, Int), dilations: (Int, Int), pads: [Int])
        -> (rows: Range<Int>, columns: Range<Int>, pads: [Int]) {
        func keep(_ k: Int, _ inLen: Int, _ outLen: Int, _ s: Int, _ d: Int, _ padBegin: Int) -> Range<Int> {
            let live = (0..<k).filter { t in
                (0..<outLen).contains { o in let i = o * s - padBegin + t * d; return i >= 0 && i < inLen }
            }
            guard let first = live.first, let last = live.last else { return 0..<k }
            return first..<(last + 1)
        }
        let rows = keep(kernel.0, input.0, output.0, strides.0, dilations.0, pads[0])
        let columns = keep(kernel.1, input.1, output.1, strides.1, dilations.1, pads[1])
        let top = pads[0] - rows.lowerBound * dilations.0, left = pads[1] - columns.lowerBound * dilations.1
        let bottom = (output.0 - 1) * strides.0 + dilations.0 * (rows.count - 1) + 1 - input.0 - top
        let right = (output.1 - 1) * strides.1 + dilations.1 * (columns.count - 1) + 1 - input.1 - left
        guard top >= 0, left >= 0, bottom >= 0, right >= 0 else { return (0..<kernel.0, 0..<kernel.1, pads) }
        return (rows, columns, [top, left, bottom, right])
    }

    /// W[:, :, rows, columns] of an OIHW weight tensor.
    static func slice(_ w: [Float], dims: [Int], rows: Range<Int>, columns: Range<Int>) -> [Float] {
        let (kh, kw) = (dims[2], dims[3])
        if rows.count == kh && columns.count == kw { return w }
        var out: [Float] = []
        out.reserveCapacity(dims[0] * dims[1] * rows.count * columns.count)
        for oc in 0..<(dims[0] * dims[1]) {
            for r in rows { for c in columns { out.append(w[(oc * kh + r) * kw + c]) } }
        }
        return out
    }
}

/// Resize/Upsample of H and W on SegKernels (linear and nearest, the coordinate modes
/// segmentation exports use); anything else falls back.
enum ResizePath {
    static func select(_ node: Node, in b: PlanBuilder) -> PlanBuilder.Pending? {
        guard let x = node.inputs.first, b.isPlanned(x), let out = node.outputs.first,
              let (kernelMode, coordinates, scales) = parse(node, in: b) else { return nil }
        return .init(reads: [x], writes: [out], kind: "Resize") { slot in
            ResizeStep(mode: kernelMode, coordinates: coordinates, input: slot(x), output: slot(out), scales: scales, context: b.context)
        }
    }

    /// Mode, coordinate mapping and given scales of a 4-D Resize of H and W that the kernels
    /// support (float or u8), nil otherwise.
    static func parse(_ node: Node, in b: PlanBuilder) -> (ResizeMode, ResizeCoordinates, (Float, Float)?)? {
        guard let x = node.inputs.first, let xd = b.dims(x), xd.count == 4,
              let out = node.outputs.first, let od = b.dims(out), od.count == 4, od[0] == xd[0], od[1] == xd[1],
              (node[attribute: "antialias"]?.intValue ?? 0) == 0, node[attribute: "axes"] == nil,
              (node[attribute: "keep_aspect_ratio_policy"]?.stringValue ?? "stretch") == "stretch" else { return nil }
        let isUpsample = node.opType == "Upsample"
        let mode = node[attribute: "mode"]?.stringValue ?? "nearest"
        let coord = isUpsample ? "asymmetric" : (node[attribute: "coordinate_transformation_mode"]?.stringValue ?? "half_pixel")
        let nearest = isUpsample ? "floor" : (node[attribute: "nearest_mode"]?.stringValue ?? "round_prefer_floor")
        guard let coordinates = ResizeCoordinates(onnx: coord),
              let kernelMode = ResizeMode(onnx: mode, nearestMode: nearest) else { return nil }
        // Given scales drive the coordinate mapping (not out/in); sizes mean out/in.
        let scaleIndex = isUpsample ? 1 : (b.model.opsetVersion(for: "") ?? 11) >= 11 ? 2 : 1
        var scales: (Float, Float)? = nil
        if scaleIndex < node.inputs.count, let s = b.constant(node.inputs[scaleIndex]), s.elementCount == 4,
           let v = try? s.converted(to: .f32).scalars(as: Float.self) {
            guard v[0] == 1, v[1] == 1 else { return nil }
            scales = (v[2], v[3])
        }
        return (kernelMode, coordinates, scales)
    }
}
