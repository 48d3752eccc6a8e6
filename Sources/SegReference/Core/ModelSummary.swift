import SegGraph
import SegTensor

/// What `model/load` and `segslim info` report about a model: interface, size, compute.
package struct ModelSummary: Sendable {
    package struct IO: Sendable, Equatable {
        package var name: String
        package var dtype: DType?
        /// Dims: a number, a symbolic name, or "?" for unknown.
        package var shape: [Dimension]?
    }

    package var inputs: [IO]
    package var outputs: [IO]
    package var opsets: [String: Int]
    /// Elements in initializers (weights, biases, constants).
    package var parameters: Int
    package var parameterBytes: Int
    /// Multiply-accumulates per run for Conv, ConvTranspose, Gemm, MatMul (and their integer
    /// variants), from the inferred shapes; nil for a node whose shapes are unknown.
    package var macs: Int
    /// Nodes whose MACs could not be counted (unknown shapes).
    package var uncountedNodes: Int
    package var opCounts: [String: Int]
    package var warnings: [String]

    package init(model: Model, inference: ShapeInference) {
        let graph = model.graph
        func io(_ v: ValueInfo) -> IO {
            let t = inference.types[v.name] ?? v.type
            return IO(name: v.name, dtype: t?.elementType ?? v.type?.elementType, shape: t?.shape ?? v.type?.shape)
        }
        inputs = graph.runtimeInputs.map(io)
        outputs = graph.outputs.map(io)
        opsets = Dictionary(model.opsetImports.map { ($0.domain.isEmpty ? "ai.onnx" : $0.domain, $0.version) }, uniquingKeysWith: max)
        parameters = graph.initializers.reduce(0) { $0 + $1.tensor.elementCount }
        parameterBytes = graph.initializers.byteCount
        opCounts = graph.opCounts
        warnings = inference.warnings
        var macs = 0, uncounted = 0
        for node in graph.nodes {
            switch Self.macs(of: node, inference.types) {
            case .some(let m): macs += m
            case .none: uncounted += 1
            }
        }
        self.macs = macs
        uncountedNodes = uncounted
    }

    /// MACs of one node: `.some(0)` for ops that do no multiply-accumulate work worth
    /// counting, nil when the shapes needed are unknown.
    static func macs(of node: Node, _ types: [String: TensorType]) -> Int? {
        func dims(_ name: String) -> [Int]? {
            name.isEmpty ? nil : types[name]?.concreteDims
        }
        func count(_ d: [Int]) -> Int { d.reduce(1, *) }
        switch node.opType {
        case "Conv", "ConvInteger", "QLinearConv":
            // Output elements × (input channels per group × kernel elements).
            let wIndex = node.opType == "QLinearConv" ? 3 : 1
            let yName = node.outputs.first ?? ""
            guard wIndex < node.inputs.count, let w = dims(node.inputs[wIndex]), w.count >= 2, let y = dims(yName) else { return nil }
            return count(y) * count(Array(w[1...]))
        case "ConvTranspose":
            // Every input element is scattered through a (C_out/group × kernel) window.
            guard node.inputs.count > 1, let x = dims(node.inputs[0]), let w = dims(node.inputs[1]), w.count >= 2 else { return nil }
            return count(x) * count(Array(w[1...]))
        case "Gemm":
            guard node.inputs.count > 1, let a = dims(node.inputs[0]), let b = dims(node.inputs[1]), a.count == 2, b.count == 2 else { return nil }
            let transA = (node[attribute: "transA"]?.intValue ?? 0) != 0
            let transB = (node[attribute: "transB"]?.intValue ?? 0) != 0
            let m = transA ? a[1] : a[0], k = transA ? a[0] : a[1], n = transB ? b[0] : b[1]
            return m * k * n
        case "MatMul", "MatMulInteger", "QLinearMatMul":
            let (ai, bi) = node.opType == "QLinearMatMul" ? (0, 3) : (0, 1)
            guard bi < node.inputs.count, let a = dims(node.inputs[ai]), let b = dims(node.inputs[bi]),
                  let y = dims(node.outputs.first ?? "") else { return nil }
            let k = a.last ?? 1
            _ = b
            return count(y) * k
        default:
            return 0
        }
    }
}
