import SegGraph
import SegKernels
import SegTensor

/// Statically quantized MatMuls in QDQ form (our `quantize` and ONNX Runtime's `quantize_static`
/// on transformer layers): MatMul(DQ(Q(x)), DQ(W)) with x quantized per tensor to u8 and W a
/// constant of s8 codes [K, N] (one scale, or one per output column). Without this the graph
/// ran as a fake-quantize, a DequantizeLinear of every weight on every run and a float MatMul:
/// slower than the float model. Here it is one step: x quantized as the Q node does, an integer
/// GEMM of the codes (`qgemm`, exact i32 sums), and the dequantizing scale in its epilogue,
/// writing floats. A bias Add of a constant [N] that alone reads the product goes into the
/// epilogue too, as i32 codes of x_scale · w_scale (what the INT8 convs do with theirs); so does
/// a QuantizeLinear → DequantizeLinear pair on the product (our quantizer's output QDQ) and a
/// bias Add after it, computed in float exactly as the fake-quantize and Add steps would.
///
/// The Q node and both DQs stay in the graph; the steps making them die when nothing else reads
/// their outputs.
enum QDQMatMulPath {
    static func select(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard b.int8, node.domain.isEmpty || node.domain == "ai.onnx", node.inputs.count == 2,
              let out = node.outputs.first, node.outputs.count == 1, b.isPlanned(out), let od = b.dims(out),
              let (x, px) = quantizedInput(node.inputs[0], before: i, b), let xd = b.dims(x), xd.count >= 2,
              let w = b.quantized[node.inputs[1]], w.codes.dtype == .i8, w.codes.dims.count == 2, w.zeros.allSatisfy({ $0 == 0 }),
              w.codes.dims[0] == xd.last, w.scales.count == 1 || (w.axis == 1 && w.scales.count == w.codes.dims[1]),
              let codes = try? w.codes.scalars(as: Int8.self) else { return nil }
        let k = w.codes.dims[0], n = w.codes.dims[1]
        let rows = xd.dropLast().reduce(1, *)
        guard od == Array(xd.dropLast()) + [n], rows > 0 else { return nil }
        // W[N × K] for the packed GEMM.
        var transposed = [Int8](repeating: 0, count: n * k)
        for kk in 0..<k { for nn in 0..<n { transposed[nn * k + kk] = codes[kk * n + nn] } }
        guard let packed = try? QPackedWeights(weights: transposed, n: n, k: k, path: b.qgemmPath, allowVNNI: b.context.allowsVNNI) else {
            return nil
        }
        let multiplier = (0..<n).map { px.scale * w.scales[w.scales.count == 1 ? 0 : $0] }
        // Σ (x − zx)·w = Σ x·w − zx·Σ w: the zero point as a per-column bias.
        var bias = packed.rowSums.map { 0 &- px.zeroPoint &* $0 }
        var output = out
        var fake: QuantParameters? = nil
        var addend: [Float]? = nil
        var biasCodes = false
        if let (j, y, values) = biasAdd(after: i, out, n: n, b) {
            biasCodes = true
            for c in 0..<n {
                let code = (Double(values[c]) / Double(multiplier[c])).rounded(.toNearestOrEven)
                guard multiplier[c] > 0, abs(code) < Double(Int32.max / 2) else { return nil }
                bias[c] = bias[c] &+ Int32(code)
            }
            consumed.insert(j)
            output = y
        } else if let (q, d, y, p) = fakeQuantized(after: i, out, b) {
            // Product → Q → DQ (→ bias Add): the rounding to codes and back, and the bias in
            // float after it, as the graph's steps compute them, in the epilogue.
            consumed.formUnion([q, d])
            fake = p
            output = y
            if let (j, z, values) = biasAdd(after: d, y, n: n, b) {
                consumed.insert(j)
                addend = values
                output = z
            }
        }
        let kind = "QMatMul" + (biasCodes ? "+bias" : "")
            + (fake != nil ? "+fake-quantize" : "") + (addend != nil ? "+bias" : "") + " → f32"
        var requantization = QRequantization(bias: bias, multiplier: multiplier)
        requantization.fakeQuantize = fake
        requantization.addend = addend
        let parameters = QuantParameters(scale: px.scale, zeroPoint: px.zeroPoint)
        return .init(reads: [x], writes: [output], kind: kind) { [output] slot in
            QDQMatMulStep(input: slot(x), inputParameters: parameters, weights: packed, rows: rows, requantization: requantization,
                          output: slot(output), context: b.context, kind: kind)
        }
    }

    /// `name` = DequantizeLinear(QuantizeLinear(x)) with the same per-tensor u8 parameters
    /// (the activation side of a QDQ MatMul), both before node `i`: the float x and them.
    static func quantizedInput(_ name: String, before i: Int, _ b: PlanBuilder) -> (String, QuantParameters)? {
        guard let d = b.nodes[..<i].lastIndex(where: { $0.outputs.first == name }), b.nodes[d].opType == "DequantizeLinear",
              let v = b.nodes[d].inputs.first, let q = b.nodes[..<d].lastIndex(where: { $0.outputs.first == v }),
              b.nodes[q].opType == "QuantizeLinear", let x = b.nodes[q].inputs.first, b.isPlanned(x),
              let pq = QuantPath.parameters(b.nodes[q], dims: b.dims(x), b), pq.values.count == 1, !pq.values[0].signed,
              let pd = QuantPath.parameters(b.nodes[d], dims: b.dims(v), b), pd == pq else { return nil }
        return (x, pq.values[0])
    }

    /// The product read only by a per-tensor u8 QuantizeLinear whose codes only its matching
    /// DequantizeLinear reads: their indices, the DequantizeLinear's output and the parameters.
    static func fakeQuantized(after i: Int, _ product: String, _ b: PlanBuilder) -> (Int, Int, String, QuantParameters)? {
        guard b.readers[product] == 1, !b.isGraphOutput(product),
              let q = (i + 1..<b.nodes.count).first(where: { b.nodes[$0].inputs.contains(product) }),
              b.nodes[q].opType == "QuantizeLinear", b.nodes[q].inputs.first == product, let v = b.nodes[q].outputs.first,
              b.readers[v] == 1, !b.isGraphOutput(v),
              let p = QuantPath.parameters(b.nodes[q], dims: b.dims(product), b), p.values.count == 1, !p.values[0].signed,
              let d = (q + 1..<b.nodes.count).first(where: { b.nodes[$0].inputs.contains(v) }),
              b.nodes[d].opType == "DequantizeLinear", b.nodes[d].inputs.first == v, let y = b.nodes[d].outputs.first, b.isPlanned(y),
              QuantPath.parameters(b.nodes[d], dims: b.dims(v), b) == p else { return nil }
        return (q, d, y, p.values[0])
    }

    /// An Add of a constant f32 bias with N values (broadcast over rows) that is the only
    /// reader of the product: its index, output and the bias.
    static func biasAdd(after i: Int, _ product: String, n: Int, _ b: PlanBuilder) -> (Int, String, [Float])? {
        guard b.readers[product] == 1, !b.isGraphOutput(product),
              let j = (i + 1..<b.nodes.count).first(where: { b.nodes[$0].inputs.contains(product) }),
              b.nodes[j].opType == "Add", b.nodes[j].inputs.count == 2, let y = b.nodes[j].outputs.first, b.isPlanned(y),
              b.dims(y) == b.dims(product) else { return nil }
        let other = b.nodes[j].inputs[0] == product ? b.nodes[j].inputs[1] : b.nodes[j].inputs[0]
        guard other != product, let c = b.constant(other), c.dtype == .f32, c.elementCount == n, c.dims.last == n,
              let values = try? c.scalars(as: Float.self) else { return nil }
        return (j, y, values)
    }
}

/// One statically quantized MatMul: the float input quantized per tensor into a scratch of
/// codes, `qgemm` of those and the packed s8 weights, floats out (x_scale · w_scale · the
/// exact sum with the zero point and bias codes folded in).
struct QDQMatMulStep: Step {
    let input: Slot
    let inputParameters: QuantParameters
    let weights: QPackedWeights
    let rows: Int
    let requantization: QRequantization
    let output: Slot
    let context: KernelContext
    let kind: String
    /// The packed weights (about one byte per weight) and their column sums.
    var heldBytes: Int { weights.n * weights.k + weights.n * MemoryLayout<Int32>.size }
    var detail: String { "\(kind) \(rows)×\(weights.k) · \(weights.k)×\(weights.n)" }

    func execute(_ arena: Arena) throws {
        let count = rows * weights.k
        // 16 bytes of slack past the codes: the GEMM's row loads may read a little beyond.
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count + 16) { codes in
            guard let a = codes.baseAddress else { return }
            (a + count).update(repeating: 0, count: 16)
            try quantizeLinear(.quantize, input: UnsafeRawPointer(arena.pointer(input)), output: UnsafeMutableRawPointer(a),
                               layout: .perTensor(count: count), parameters: [inputParameters], context: context)
            try qgemm(m: rows, a: .rows(UnsafePointer(a), rowStride: weights.k), weights: weights, requantization: requantization,
                      output: .f32(arena.pointer(output), rowStride: weights.n, channelStride: 1), context: context)
        }
    }
}
