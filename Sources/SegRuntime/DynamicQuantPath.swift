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

    /// MatMulInteger(A u8 [.., M, K], B s8 constant [K, N], a_zero_point scalar, b_zero_point
    /// absent or 0) read only by a Cast to float.
    static func matMulIntegerCast(_ i: Int, _ b: PlanBuilder, consumed: inout Set<Int>) -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.inputs.count >= 2, let out = node.outputs.first, node.outputs.count == 1,
              b.readers[out] == 1, !b.isGraphOutput(out),
              let j = (i + 1..<b.nodes.count).first(where: { b.nodes[$0].inputs.contains(out) }),
              b.nodes[j].opType == "Cast", b.nodes[j].inputs.first == out,
              b.nodes[j][attribute: "to"]?.intValue == 1, let y = b.nodes[j].outputs.first, b.isPlanned(y) else { return nil }
        let a = node.inputs[0]
        guard b.isArena(a), b.elementType(a) == .u8, let aDims = b.dims(a), aDims.count >= 2,
              let w = b.constant(node.inputs[1]), w.dtype == .i8, w.dims.count == 2, w.dims[0] == aDims.last,
              let weights = try? w.scalars(as: Int8.self) else { return nil }
        let k = w.dims[0], n = w.dims[1]
        // The weights' zero point: absent, or zeros (symmetric s8).
        if node.inputs.count > 3, !node.inputs[3].isEmpty {
            guard let zb = b.constant(node.inputs[3]), let zeros = try? zb.scalars(as: Int8.self), zeros.allSatisfy({ $0 == 0 }) else { return nil }
        }
        // The activations' zero point: a u8 scalar, computed (DynamicQuantizeLinear) or constant.
        var aZero: String? = nil, aZeroConstant: Int32 = 0
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            let z = node.inputs[2]
            if let c = b.constant(z) {
                guard c.dtype == .u8, c.elementCount == 1, let v = try? c.scalars(as: UInt8.self).first else { return nil }
                aZeroConstant = Int32(v)
            } else {
                guard b.isArena(z), b.elementType(z) == .u8, (b.dims(z) ?? [2]).reduce(1, *) == 1 else { return nil }
                aZero = z
            }
        }
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
