import SegGraph
import SegTechnique
import SegTensor

/// A QDQ model made trainable, and the way back. Training needs float weights, so each weight
/// stored as 8-bit codes behind DequantizeLinear becomes a float initializer feeding a new
/// QuantizeLinear (sharing the DequantizeLinear's scale and zero point) whose codes feed the
/// unchanged DequantizeLinear: fake quantization, trained with the straight-through estimator.
/// Biases stored as int32 behind DequantizeLinear (scale = input scale × weight scale) become
/// plain float biases: their rounding is negligible, and the scale they depend on may be
/// learned. Activation Q/DQ pairs stay as they are.
///
/// `export` writes the trained model back in exactly the source's layout: the same nodes
/// (names, op types, inputs, outputs, attributes) and initializer names and dtypes, with the
/// trained codes, scales and biases.
struct FakeQuantModel {
    struct Weight {
        /// The codes initializer of the source model (restored on export).
        var codes: String
        /// The float initializer that trains in its place.
        var float: String
        var quantize: Node
        var dequantize: String
        var dtype: DType
        /// Codes are clamped to [low, high] on export: for symmetric s8 weights the largest
        /// magnitude the source used (127, or 64 with narrowWeights), so a trained model keeps
        /// the kernels' assumptions; else the dtype's range.
        var low: Int, high: Int
        var original: [Int32]
    }

    struct Bias {
        var dequantize: Node
        var codesDims: [Int]
        /// The node that reads the bias, and at which input.
        var consumer: String
        var input: Int
        var float: String
    }

    var model: Model
    var weights: [Weight] = []
    var biases: [Bias] = []

    init(_ source: Model) throws {
        var graph = source.graph
        var names = NameAllocator(graph, nodeNames: true)
        func fresh(_ base: String) -> String { names.fresh(base) }
        func original(_ codes: String) -> String {
            codes.hasSuffix("_quantized") ? String(codes.dropLast("_quantized".count)) : codes
        }
        var readers: [String: [(node: Int, input: Int)]] = [:]
        for (k, n) in graph.nodes.enumerated() { for (i, name) in n.inputs.enumerated() { readers[name, default: []].append((k, i)) } }

        func isDequantize(_ node: Node) -> Bool {
            node.opType == "DequantizeLinear" && (node.domain.isEmpty || node.domain == "ai.onnx") && node.inputs.count >= 2
        }
        // Biases first (they change their readers): int32 codes read by exactly one node.
        var dropped = Set<Int>()
        for (k, node) in graph.nodes.enumerated() where isDequantize(node) {
            guard let codes = graph.initializers[node.inputs[0]], codes.dtype == .i32,
                  let reads = readers[node.outputs[0]], reads.count == 1, !graph.nodes[reads[0].node].name.isEmpty else { continue }
            let label = node.name.isEmpty ? "DequantizeLinear #\(k)" : node.name
            let floatName = fresh(original(node.inputs[0]))
            graph.initializers[floatName] = try Tensor(dims: codes.dims, scalars: try Self.dequantize(codes, node: node, graph: graph, label: label))
            biases.append(Bias(dequantize: node, codesDims: codes.dims, consumer: graph.nodes[reads[0].node].name, input: reads[0].input, float: floatName))
            graph.nodes[reads[0].node].inputs[reads[0].input] = floatName
            for name in node.inputs where !name.isEmpty { graph.initializers[name] = nil }
            dropped.insert(k)
        }
        var nodes: [Node] = []
        for (k, node) in graph.nodes.enumerated() where !dropped.contains(k) {
            guard isDequantize(node), let codes = graph.initializers[node.inputs[0]], codes.dtype == .i8 || codes.dtype == .u8 else {
                nodes.append(node); continue
            }
            let label = node.name.isEmpty ? "DequantizeLinear #\(k)" : node.name
            let dequantized = try Self.dequantize(codes, node: node, graph: graph, label: label)
            let floatName = fresh(original(node.inputs[0]))
            graph.initializers[floatName] = try Tensor(dims: codes.dims, scalars: dequantized)
            let values = try codes.converted(to: .f32).scalars(as: Float.self).map { Int32($0) }
            let zeros = node.inputs.count > 2 && !node.inputs[2].isEmpty ? try graph.initializers[node.inputs[2]]?.converted(to: .f32).scalars(as: Float.self) : nil
            var low = codes.dtype == .i8 ? -128 : 0, high = codes.dtype == .i8 ? 127 : 255
            if codes.dtype == .i8, zeros?.allSatisfy({ $0 == 0 }) ?? true {
                let limit = Int(values.map { abs($0) }.max() ?? 0)
                if limit > 0 && limit <= 127 { (low, high) = (-limit, limit) }
            }
            var attributes: [NamedAttribute] = []
            if let axis = node[attribute: "axis"] { attributes.append(NamedAttribute("axis", axis)) }
            let q = Node(name: fresh("\(label)_fakequant"), opType: "QuantizeLinear",
                         inputs: [floatName] + node.inputs[1...].prefix(2), outputs: [fresh("\(node.inputs[0])_fakequant")], attributes: attributes)
            weights.append(Weight(codes: node.inputs[0], float: floatName, quantize: q, dequantize: node.name, dtype: codes.dtype,
                                  low: low, high: high, original: values))
            graph.initializers[node.inputs[0]] = nil
            var dq = node
            dq.inputs[0] = q.outputs[0]
            nodes.append(q)
            nodes.append(dq)
        }
        graph.nodes = nodes
        guard !weights.isEmpty else {
            throw TechniqueError.notApplicable("the model has no quantizable layers: QAT trains weights stored as 8-bit codes behind DequantizeLinear (Conv, Gemm, MatMul), and there are none")
        }
        var out = source
        out.graph = graph
        model = out
    }

    /// (codes − zero point) · scale, per tensor or along the node's axis.
    static func dequantize(_ codes: Tensor, node: Node, graph: Graph, label: String) throws -> [Float] {
        let values = try codes.converted(to: .f32).scalars(as: Float.self)
        guard let scaleTensor = graph.initializers[node.inputs[1]] else { throw TechniqueError.failed("\(label): scale '\(node.inputs[1])' is not an initializer") }
        let scales = try scaleTensor.converted(to: .f32).scalars(as: Float.self)
        var zeros = [Float](repeating: 0, count: scales.count)
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            guard let z = graph.initializers[node.inputs[2]] else { throw TechniqueError.failed("\(label): zero point '\(node.inputs[2])' is not an initializer") }
            zeros = try z.converted(to: .f32).scalars(as: Float.self)
        }
        let (channels, inner) = try layout(codes.dims, scales: scales.count, node: node, label: label)
        return values.indices.map { i in
            let c = channels == 1 ? 0 : (i / inner) % channels
            return (values[i] - zeros[zeros.count == 1 ? 0 : c]) * scales[c]
        }
    }

    static func layout(_ dims: [Int], scales: Int, node: Node, label: String) throws -> (channels: Int, inner: Int) {
        guard scales > 1 else { return (1, dims.reduce(1, *)) }
        var axis = node[attribute: "axis"]?.intValue ?? 1
        if axis < 0 { axis += dims.count }
        guard axis >= 0, axis < dims.count, dims[axis] == scales else {
            throw TechniqueError.failed("\(label): \(scales) scales do not match axis \(axis) of \(dims)")
        }
        return (scales, dims[(axis + 1)...].reduce(1, *))
    }
}
