import SegGraph
import SegKernels
import SegTensor

/// Dynamically quantized graphs (ONNX Runtime's `quantize_dynamic`, our `quantize` with
/// `mode: dynamic`): DynamicQuantizeLinear on the activations, then MatMulInteger with constant
/// s8 weights whose i32 result a Cast turns into floats. Both run here instead of on the
/// reference executor: the quantization as one min/max pass and one vectorised quantize, and
/// MatMulInteger + Cast as one `qgemm` writing floats (the exact i32 sum converted as Cast
/// converts it).
enum DynamicQuantPath {
    static func select(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.domain.isEmpty || node.domain == "ai.onnx" else { return nil }
        switch node.opType {
        case "DynamicQuantizeLinear": return dynamicQuantize(node, b)
        case "MatMulInteger": return matMulIntegerCast(i, b, consumed: &consumed)
        case "ConvInteger": return convIntegerCast(i, b, consumed: &consumed)
        default: return nil
        }
    }

    static func dynamicQuantize(_ node: Node, _ b: PlanBuilder) -> PlanBuilder.Pending? {
        guard node.inputs.count == 1, node.outputs.count == 3, let x = node.inputs.first, b.isPlanned(x),
              node.outputs.allSatisfy(b.isArena), b.elementType(node.outputs[0]) == .u8, b.elementType(node.outputs[2]) == .u8,
              b.elementType(node.outputs[1]) == .f32 else { return nil }
        let (y, scale, zero) = (node.outputs[0], node.outputs[1], node.outputs[2])
        return .init(reads: [x], writes: [y, scale, zero], kind: "DynamicQuantizeLinear") { slot in
            DynamicQuantizeStep(input: slot(x), output: slot(y), scale: slot(scale), zeroPoint: slot(zero), context: b.context)
        }
    }

    /// The Cast to float that is the only reader of integer node `i`'s output: its index and
    /// output (a planned float), or nil.
    static func castToFloat(after i: Int, _ b: PlanBuilder) -> (index: Int, output: String)? {
        guard let out = b.nodes[i].outputs.first, b.nodes[i].outputs.count == 1, b.readers[out] == 1, !b.isGraphOutput(out),
              let j = (i + 1..<b.nodes.count).first(where: { b.nodes[$0].inputs.contains(out) }),
              b.nodes[j].opType == "Cast", b.nodes[j].inputs.first == out,
              b.nodes[j][attribute: "to"]?.intValue == 1, let y = b.nodes[j].outputs.first, b.isPlanned(y) else { return nil }
        return (j, y)
    }

    /// The dequantizing product that follows: the Cast's output read only by Mul(·, s) where
    /// s = Mul(x_scale, w_scale), x_scale a scalar computed at run time and w_scale a constant
    /// with one value or one per output channel (`channels`). The step then multiplies by
    /// x_scale · w_scale itself (the same f32 products the graph computes) and writes the Mul's
    /// output. The Mul making s still runs for any other reader; it is one scalar.
    struct Scale {
        var mulIndex: Int
        var output: String
        var inputScale: String
        var weightScales: [Float]
    }

    /// `channelAxis`: where per-channel weight scales must lie in the scale tensor's dims
    /// (counted from the end: 1 for MatMul's last axis, 3 for NCHW's channel axis).
    static func scale(after cast: (index: Int, output: String), channels: Int, channelAxis: Int, _ b: PlanBuilder) -> Scale? {
        let y = cast.output
        guard b.readers[y] == 1, !b.isGraphOutput(y),
              let k = (cast.index + 1..<b.nodes.count).first(where: { b.nodes[$0].inputs.contains(y) }),
              b.nodes[k].opType == "Mul", b.nodes[k].inputs.count == 2, let z = b.nodes[k].outputs.first, b.isPlanned(z),
              b.dims(z) == b.dims(y) else { return nil }
        let s = b.nodes[k].inputs[0] == y ? b.nodes[k].inputs[1] : b.nodes[k].inputs[0]
        guard s != y, let m = b.nodes[..<k].lastIndex(where: { $0.outputs.first == s }), b.nodes[m].opType == "Mul",
              b.nodes[m].inputs.count == 2 else { return nil }
        let (p, q) = (b.nodes[m].inputs[0], b.nodes[m].inputs[1])
        let (xs, ws) = b.constant(q) != nil ? (p, q) : (q, p)
        guard b.isPlanned(xs), (b.dims(xs) ?? [2]).reduce(1, *) == 1, let wt = b.constant(ws), wt.dtype == .f32,
              let values = try? wt.scalars(as: Float.self) else { return nil }
        if values.count != 1 {
            // One per channel, on the channel axis only (ones elsewhere, right-aligned).
            let dims = wt.dims
            guard values.count == channels, dims.count >= channelAxis, dims[dims.count - channelAxis] == channels,
                  dims.enumerated().allSatisfy({ $0.offset == dims.count - channelAxis || $0.element == 1 }) else { return nil }
        }
        // The graph multiplies x_scale · w_scale in that order or the other: the same f32 product.
        return Scale(mulIndex: k, output: z, inputScale: xs, weightScales: values)
    }

    /// The u8 activations' zero point (input 2 of MatMulInteger and ConvInteger): absent (0),
    /// a constant, or a scalar computed at run time (DynamicQuantizeLinear's); and the s8
    /// weights' (input 3) must be absent or zeros (symmetric). Nil when neither holds.
    static func zeroPoints(_ node: Node, _ b: PlanBuilder) -> (slot: String?, constant: Int32)? {
        if node.inputs.count > 3, !node.inputs[3].isEmpty {
            guard let zb = b.constant(node.inputs[3]), let zeros = try? zb.scalars(as: Int8.self), zeros.allSatisfy({ $0 == 0 }) else { return nil }
        }
        guard node.inputs.count > 2, !node.inputs[2].isEmpty else { return (nil, 0) }
        let z = node.inputs[2]
        if let c = b.constant(z) {
            guard c.dtype == .u8, c.elementCount == 1, let v = try? c.scalars(as: UInt8.self).first else { return nil }
            return (nil, Int32(v))
        }
        guard b.isArena(z), b.elementType(z) == .u8, (b.dims(z) ?? [2]).reduce(1, *) == 1 else { return nil }
        return (z, 0)
    }

    /// MatMulInteger(A u8 [.., M, K], B s8 constant [K, N], a_zero_point scalar, b_zero_point
    /// absent or 0) read only by a Cast to float.
    static func matMulIntegerCast(_ i: Int, _ b: PlanBuilder, consumed: inout Set<Int>) -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.inputs.count >= 2, let (j, y) = castToFloat(after: i, b) else { return nil }
        let a = node.inputs[0]
        guard b.isArena(a), b.elementType(a) == .u8, let aDims = b.dims(a), aDims.count >= 2,
              let w = b.constant(node.inputs[1]), w.dtype == .i8, w.dims.count == 2, w.dims[0] == aDims.last,
              let weights = try? w.scalars(as: Int8.self), let (aZero, aZeroConstant) = zeroPoints(node, b) else { return nil }
        let k = w.dims[0], n = w.dims[1]
        // W[N × K] for the packed GEMM.
        var transposed = [Int8](repeating: 0, count: n * k)
        for kk in 0..<k { for nn in 0..<n { transposed[nn * k + kk] = weights[kk * n + nn] } }
        guard let packed = try? QPackedWeights(weights: transposed, n: n, k: k, allowVNNI: b.context.allowsVNNI) else { return nil }
        let rows = aDims.dropLast().reduce(1, *)
        consumed.insert(j)
        let scaled = scale(after: (j, y), channels: n, channelAxis: 1, b)
        if let scaled { consumed.insert(scaled.mulIndex) }
        let output = scaled?.output ?? y
        let reads = [a] + (aZero.map { [$0] } ?? []) + (scaled.map { [$0.inputScale] } ?? [])
        return .init(reads: reads, writes: [output], kind: scaled == nil ? "MatMulInteger+Cast" : "MatMulInteger+Cast+Mul") { slot in
            MatMulIntegerStep(a: slot(a), aZero: aZero.map(slot), aZeroConstant: aZeroConstant, weights: packed, rows: rows,
                              inputScale: scaled.map { slot($0.inputScale) }, weightScales: scaled?.weightScales ?? [],
                              output: slot(output), context: b.context)
        }
    }
}

extension DynamicQuantPath {
    /// ConvInteger(x u8 NCHW, w s8 constant OIHW, x_zero_point scalar, w_zero_point absent or
    /// 0), 2-D, ungrouped or depthwise, read only by a Cast to float: `QConv2D` with float
    /// output and multiplier 1 (the exact sums), its zero point given per run.
    static func convIntegerCast(_ i: Int, _ b: PlanBuilder, consumed: inout Set<Int>) -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.inputs.count >= 2, let (j, y) = castToFloat(after: i, b), let yd = b.dims(y), yd.count == 4 else { return nil }
        let x = node.inputs[0]
        guard b.isArena(x), b.elementType(x) == .u8, let xd = b.dims(x), xd.count == 4,
              let w = b.constant(node.inputs[1]), w.dtype == .i8, w.dims.count == 4, let weights = try? w.scalars(as: Int8.self),
              let (xZero, xZeroConstant) = zeroPoints(node, b),
              let window = try? ConvGeometry(node), let kernel = try? window.kernel(rank: 2, fromWeights: [w.dims[2], w.dims[3]]),
              let axes = try? window.forwardAxes(input: [xd[2], xd[3]], kernel: kernel) else { return nil }
        let group = node[attribute: "group"]?.intValue ?? 1
        guard w.dims[1] * group == xd[1] else { return nil }
        let shape = Conv2DShape(inputChannels: xd[1], height: xd[2], width: xd[3], outputChannels: w.dims[0],
                                kernelH: kernel[0], kernelW: kernel[1], strides: (axes[0].stride, axes[1].stride),
                                pads: (axes[0].padBegin, axes[1].padBegin, axes[0].padEnd, axes[1].padEnd),
                                dilations: (axes[0].dilation, axes[1].dilation), groups: group)
        guard shape.outputHeight == yd[2], shape.outputWidth == yd[3], yd[1] == w.dims[0],
              let conv = try? QConv2D(shape: shape, weights: weights, weightScales: [1], bias: nil, inputScale: 1, inputZeroPoint: 0,
                                      output: .f32, allowVNNI: b.context.allowsVNNI) else { return nil }
        consumed.insert(j)
        let scaled = scale(after: (j, y), channels: w.dims[0], channelAxis: 3, b)
        if let scaled { consumed.insert(scaled.mulIndex) }
        let output = scaled?.output ?? y
        let reads = [x] + (xZero.map { [$0] } ?? []) + (scaled.map { [$0.inputScale] } ?? [])
        return .init(reads: reads, writes: [output], kind: scaled == nil ? "ConvInteger+Cast" : "ConvInteger+Cast+Mul") { slot in
            ConvIntegerStep(x: slot(x), xZero: xZero.map(slot), xZeroConstant: xZeroConstant, conv: conv,
                            inputScale: scaled.map { slot($0.inputScale) }, weightScales: scaled?.weightScales ?? [],
                            output: slot(output), context: b.context)
        }
    }
}

/// ConvInteger + Cast: the NCHW codes transposed to NHWC (what `QConv2D` reads), then the
/// convolution with this run's zero point, written as floats.
struct ConvIntegerStep: Step {
    let x: Slot
    let xZero: Slot?
    let xZeroConstant: Int32
    let conv: QConv2D
    /// With the dequantizing Mul: x_scale's slot and the weight scales (one, or one per channel).
    let inputScale: Slot?
    let weightScales: [Float]
    let output: Slot
    let context: KernelContext
    var kind: String { inputScale == nil ? "ConvInteger+Cast" : "ConvInteger+Cast+Mul" }
    var heldBytes: Int { conv.heldBytes }

    /// x_scale · w_scale per output channel (the graph's f32 product), or nil: the plain sums.
    func multiplier(_ arena: Arena) -> [Float]? {
        guard let inputScale else { return nil }
        let xs = arena.pointer(inputScale).pointee
        return (0..<conv.shape.outputChannels).map { xs * weightScales[weightScales.count == 1 ? 0 : $0] }
    }

    func execute(_ arena: Arena) throws {
        let zx = xZero.map { Int32(arena.bytes($0).pointee) } ?? xZeroConstant
        let s = conv.shape, batch = x.dims[0], plane = s.height * s.width, c = s.inputChannels
        let src = arena.bytes(x)
        // 16 bytes of slack: the im2col gather may read a few bytes past the last pixel.
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: batch * plane * c + 16) { nhwc in
            guard let dst = nhwc.baseAddress else { return }
            dst.update(repeating: UInt8(truncatingIfNeeded: zx), count: nhwc.count)
            for n in 0..<batch {
                let image = src + n * c * plane, out = dst + n * plane * c
                for ch in 0..<c {
                    let row = image + ch * plane
                    for p in 0..<plane { out[p * c + ch] = row[p] }
                }
            }
            try conv.run(input: UnsafePointer(dst), batch: batch, output: UnsafeMutableRawPointer(arena.pointer(output)),
                         inputZeroPoint: zx, multiplier: multiplier(arena), context: context)
        }
    }
}

/// DynamicQuantizeLinear as ONNX (and ONNX Runtime) define it: the range widened to include 0,
/// scale (max − min) / 255 (1 for a constant input), zero point round_half_even(−min / scale)
/// clamped to [0, 255], then the codes.
struct DynamicQuantizeStep: Step {
    let input: Slot, output: Slot, scale: Slot, zeroPoint: Slot
    let context: KernelContext
    var kind: String { "DynamicQuantizeLinear" }

    func execute(_ arena: Arena) throws {
        let x = arena.pointer(input), count = input.count
        // The range in blocks over the pool (each block's min and max, then theirs): the
        // activations of a transformer layer are megabytes, read twice per quantization.
        let block = 1 << 15, blocks = (count + block - 1) / block
        var lo: Float = 0, hi: Float = 0
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * max(blocks, 1)) { partial in
            guard let p = partial.baseAddress else { return }
            context.pool.parallelFor(blocks) { range in
                for b in range {
                    let start = b * block, end = Swift.min(count, start + block)
                    var low = SIMD8<Float>(repeating: 0), high = SIMD8<Float>(repeating: 0)
                    var i = start
                    while i + 8 <= end {
                        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                        low = pointwiseMin(low, v)
                        high = pointwiseMax(high, v)
                        i += 8
                    }
                    var l = low.min(), h = high.max()
                    while i < end { l = Swift.min(l, x[i]); h = Swift.max(h, x[i]); i += 1 }
                    p[2 * b] = l
                    p[2 * b + 1] = h
                }
            }
            for b in 0..<blocks { lo = Swift.min(lo, p[2 * b]); hi = Swift.max(hi, p[2 * b + 1]) }
        }
        let s: Float = hi == lo ? 1 : (hi - lo) / 255
        let z = 0 - lo / s
        let zp = Int32((z >= 0 ? (z <= 255 ? z : 255) : 0).rounded(.toNearestOrEven))
        arena.pointer(scale).pointee = s
        arena.bytes(zeroPoint).pointee = UInt8(zp)
        try quantizeLinear(.quantize, input: UnsafeRawPointer(x), output: UnsafeMutableRawPointer(arena.bytes(output)),
                           layout: .perTensor(count: count), parameters: [QuantParameters(scale: s, zeroPoint: zp)], context: context)
    }
}

/// Σ_k (a − za)·w as floats: `qgemm` with the zero point folded into the bias
/// (−za·Σ_k w per column) and multiplier 1, so each output is the exact i32 sum converted; or,
/// with the dequantizing Mul, that float times x_scale · w_scale (the graph's two f32 products).
struct MatMulIntegerStep: Step {
    let a: Slot
    let aZero: Slot?
    let aZeroConstant: Int32
    let weights: QPackedWeights
    let rows: Int
    /// With the dequantizing Mul: x_scale's slot and the weight scales (one, or one per column).
    let inputScale: Slot?
    let weightScales: [Float]
    let output: Slot
    let context: KernelContext
    var kind: String { inputScale == nil ? "MatMulInteger+Cast" : "MatMulInteger+Cast+Mul" }
    /// The packed weights (about one byte per weight) and their column sums.
    var heldBytes: Int { weights.n * weights.k + weights.n * MemoryLayout<Int32>.size }

    func execute(_ arena: Arena) throws {
        let za = aZero.map { Int32(arena.bytes($0).pointee) } ?? aZeroConstant
        var multiplier = [Float](repeating: 1, count: weights.n)
        if let inputScale {
            let xs = arena.pointer(inputScale).pointee
            for c in 0..<weights.n { multiplier[c] = xs * weightScales[weightScales.count == 1 ? 0 : c] }
        }
        let rq = QRequantization(bias: weights.rowSums.map { 0 &- za &* $0 }, multiplier: multiplier)
        try qgemm(m: rows, a: .rows(UnsafePointer(arena.bytes(a)), rowStride: weights.k), weights: weights, requantization: rq,
                  output: .f32(arena.pointer(output), rowStride: weights.n, channelStride: 1), context: context)
    }
}
