import SegGraph

/// Which initializers a training run updates. The rule: float initializers that feed the
/// weights, biases and norms of the layers (Conv/ConvTranspose W and B, Gemm B and C, a
/// MatMul's constant operand, the scale and bias of BatchNormalization, LayerNormalization,
/// InstanceNormalization, PRelu's slope). Shape constants, Resize scales, constants feeding
/// Add/Mul and the running statistics of BatchNormalization never are.
///
/// Fake quantization: a float weight reaching its layer through QuantizeLinear →
/// DequantizeLinear is the layer's weight (quantization-aware training trains it through the
/// straight-through estimator). With `quantizationScales` the float scales of QuantizeLinear
/// nodes and of the DequantizeLinear nodes that read 8-bit codes are trainable too (learned
/// step sizes, LSQ); zero points never are.
package struct TrainableParameters: Sendable, Equatable {
    /// Trainable initializer names, in the order the graph first uses them.
    package var names: [String]
    /// BatchNormalization running mean/variance initializers the forward pass updates.
    package var state: [String]
    /// Candidates left out by a freeze pattern or node list.
    package var frozen: [String]

    /// Input positions that hold trainable values, per op type.
    static let roles: [String: Set<Int>] = [
        "Conv": [1, 2], "ConvTranspose": [1, 2], "Gemm": [1, 2], "MatMul": [1],
        "BatchNormalization": [1, 2], "LayerNormalization": [1, 2], "InstanceNormalization": [1, 2],
        "PRelu": [1],
    ]

    /// `freeze`: glob patterns (`*`, `?`) over initializer names and node names; a parameter
    /// matching one, or feeding a node whose name matches one, stays fixed.
    /// `quantizationScales`: also train the scales of QuantizeLinear / DequantizeLinear.
    package init(model: Model, freeze: [String] = [], quantizationScales: Bool = false) {
        let graph = model.graph
        var names: [String] = [], state: [String] = [], frozen: [String] = []
        var seen = Set<String>()
        let order = (try? graph.topologicalOrder()) ?? Array(graph.nodes.indices)
        var producer: [String: Node] = [:]
        for node in graph.nodes { for out in node.outputs where !out.isEmpty { producer[out] = node } }
        func isStandard(_ node: Node) -> Bool { node.domain.isEmpty || node.domain == "ai.onnx" }
        /// The float initializer behind `name` when `name` is the result of a fake-quant pair.
        func fakeQuantSource(_ name: String) -> String? {
            guard let dq = producer[name], isStandard(dq), dq.opType == "DequantizeLinear", let code = dq.inputs.first,
                  let q = producer[code], isStandard(q), q.opType == "QuantizeLinear", let w = q.inputs.first,
                  graph.initializers[w] != nil else { return nil }
            return w
        }
        func isCode(_ name: String) -> Bool {
            if let q = producer[name] { return isStandard(q) && q.opType == "QuantizeLinear" }
            return graph.initializers[name].map { $0.dtype == .u8 || $0.dtype == .i8 } ?? false
        }
        for index in order {
            let node = graph.nodes[index]
            guard isStandard(node) else { continue }
            if quantizationScales, node.inputs.count > 1,
               node.opType == "QuantizeLinear" || (node.opType == "DequantizeLinear" && isCode(node.inputs[0])) {
                let name = node.inputs[1]
                if let t = graph.initializers[name], t.dtype.isFloatingPoint, seen.insert(name).inserted {
                    let isFrozen = freeze.contains { Self.glob($0, matches: node.name) || Self.glob($0, matches: name) }
                    if isFrozen { frozen.append(name) } else { names.append(name) }
                }
            }
            if node.opType == "BatchNormalization" {
                for i in [3, 4] where i < node.inputs.count && graph.initializers.contains(node.inputs[i]) {
                    if seen.insert(node.inputs[i]).inserted { state.append(node.inputs[i]) }
                }
            }
            guard let positions = Self.roles[node.opType] else { continue }
            let nodeFrozen = freeze.contains { Self.glob($0, matches: node.name) }
            for i in positions.sorted() where i < node.inputs.count {
                let name = fakeQuantSource(node.inputs[i]) ?? node.inputs[i]
                guard !name.isEmpty, let t = graph.initializers[name], t.dtype.isFloatingPoint,
                      seen.insert(name).inserted else { continue }
                if nodeFrozen || freeze.contains(where: { Self.glob($0, matches: name) }) {
                    frozen.append(name)
                } else {
                    names.append(name)
                }
            }
        }
        self.names = names
        self.state = state
        self.frozen = frozen
    }

    /// Shell-style matching: `*` any run, `?` one character; everything else literal.
    package static func glob(_ pattern: String, matches text: String) -> Bool {
        let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
