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
        return .init(reads: [a] + (aZero.map { [$0] } ?? []), writes: [y], kind: "MatMulInteger+Cast") { slot in
            MatMulIntegerStep(a: slot(a), aZero: aZero.map(slot), aZeroConstant: aZeroConstant, weights: packed, rows: rows,
                              output: slot(y), context: b.context)
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
        return .init(reads: [x] + (xZero.map { [$0] } ?? []), writes: [y], kind: "ConvInteger+Cast") { slot in
            ConvIntegerStep(x: slot(x), xZero: xZero.map(slot), xZeroConstant: xZeroConstant, conv: conv, output: slot(y), context: b.context)
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
    let output: Slot
    let context: KernelContext
    var kind: String { "ConvInteger+Cast" }
    var heldBytes: Int { conv.heldBytes }

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
                         inputZeroPoint: zx, context: context)
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
        var low = SIMD8<Float>(repeating: 0), high = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            low = pointwiseMin(low, v)
            high = pointwiseMax(high, v)
            i += 8
        }
        var lo = low.min(), hi = high.max()
        while i < count { lo = Swift.min(lo, x[i]); hi = Swift.max(hi, x[i]); i += 1 }
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
/// (−za·Σ_k w per column) and multiplier 1, so each output is the exact i32 sum converted.
struct MatMulIntegerStep: Step {
    let a: Slot
    let aZero: Slot?
    let aZeroConstant: Int32
    let weights: QPackedWeights
    let rows: Int
    let output: Slot
    let context: KernelContext
    var kind: String { "MatMulInteger+Cast" }
    /// The packed weights (about one byte per weight) and their column sums.
    var heldBytes: Int { weights.n * weights.k + weights.n * MemoryLayout<Int32>.size }

    func execute(_ arena: Arena) throws {
        let za = aZero.map { Int32(arena.bytes($0).pointee) } ?? aZeroConstant
        let rq = QRequantization(bias: weights.rowSums.map { 0 &- za &* $0 }, multiplier: [Float](repeating: 1, count: weights.n))
        try qgemm(m: rows, a: .rows(UnsafePointer(arena.bytes(a)), rowStride: weights.k), weights: weights, requantization: rq,
                  output: .f32(arena.pointer(output), rowStride: weights.n, channelStride: 1), context: context)
    }
}
