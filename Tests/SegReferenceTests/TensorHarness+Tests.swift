import SegGraph
import SegReference
import SegTensor

/// One-node models for the tensor and quantization family tests.
enum TensorHarness {
    struct NoOutput: Error {}

    /// A model with one `op` node reading `inputs` (nil: an omitted optional input) and writing
    /// `outputs` values y0, y1, ... Inputs listed in `constants` become initializers.
    static func model(_ op: String, opset: Int, inputs: [Tensor?], attributes: [NamedAttribute] = [],
                      outputs: Int = 1, constants: Set<Int> = [], types: [Int: TensorType] = [:]) -> Model {
        var graph = Graph(name: op)
        var names: [String] = []
        for (i, t) in inputs.enumerated() {
            guard let t else { names.append(""); continue }
            let name = "x\(i)"
            names.append(name)
            if constants.contains(i) {
                graph.initializers[name] = t
            } else {
                graph.inputs.append(ValueInfo(name: name, type: types[i] ?? TensorType(elementType: t.dtype, shape: t.dims.map { .value($0) })))
            }
        }
        let outs = (0..<outputs).map { "y\($0)" }
        graph.nodes = [Node(name: "n", opType: op, inputs: names, outputs: outs, attributes: attributes)]
        graph.outputs = outs.map { ValueInfo(name: $0) }
        return Model(graph: graph, opsetImports: [OpsetImport(domain: "", version: opset)])
    }

    /// Runs the one-node model; returns its outputs in order.
    static func run(_ op: String, opset: Int, _ inputs: [Tensor?], attributes: [NamedAttribute] = [],
                    outputs: Int = 1) throws -> [Tensor] {
        let m = model(op, opset: opset, inputs: inputs, attributes: attributes, outputs: outputs)
        var feeds: [String: Tensor] = [:]
        for (i, t) in inputs.enumerated() { if let t { feeds["x\(i)"] = t } }
        let result = try ReferenceExecutor(model: m).run(feeds)
        return try (0..<outputs).map { i in
            guard let t = result["y\(i)"] else { throw NoOutput() }
            return t
        }
    }

    /// The inferred output types when input i has `types[i]` (declared, values unknown) or,
    /// when listed in `constants`, that known value.
    static func inferred(_ op: String, opset: Int, types: [TensorType?], constants: [Int: Tensor] = [:],
                         attributes: [NamedAttribute] = [], outputs: Int = 1) throws -> [TensorType?] {
        let count = max(types.count, (constants.keys.max() ?? -1) + 1)
        var inputs: [Tensor?] = []
        var declared: [Int: TensorType] = [:]
        for i in 0..<count {
            if let c = constants[i] { inputs.append(c); continue }
            guard i < types.count, let t = types[i] else { inputs.append(nil); continue }
            inputs.append(Tensor(scalar: Float(0)))  // placeholder: inference reads the declared type
            declared[i] = t
        }
        let m = model(op, opset: opset, inputs: inputs, attributes: attributes, outputs: outputs,
                      constants: Set(constants.keys), types: declared)
        let inference = try ShapeInference(model: m)
        return (0..<outputs).map { inference.types["y\($0)"] }
    }

    /// The load-time refusal message for a node, or nil when the model loads.
    static func refusal(_ op: String, opset: Int, _ inputs: [Tensor?], attributes: [NamedAttribute] = [], outputs: Int = 1) -> String? {
        do {
            _ = try ReferenceExecutor(model: model(op, opset: opset, inputs: inputs, attributes: attributes, outputs: outputs))
            return nil
        } catch {
            return error.description
        }
    }

    /// The run-time error message, or nil when the node runs.
    static func failure(_ op: String, opset: Int, _ inputs: [Tensor?], attributes: [NamedAttribute] = [], outputs: Int = 1) -> String? {
        do {
            _ = try run(op, opset: opset, inputs, attributes: attributes, outputs: outputs)
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func f32(_ dims: [Int], _ values: [Float]) throws -> Tensor { try Tensor(dims: dims, scalars: values) }
    static func i64(_ values: [Int64]) throws -> Tensor { try Tensor(dims: [values.count], scalars: values) }
    static func iota(_ dims: [Int]) throws -> Tensor {
        try Tensor(dims: dims, scalars: (0..<dims.reduce(1, *)).map { Float($0) })
    }
    static func type(_ dtype: DType, _ dims: [SegGraph.Dimension]) -> TensorType { TensorType(elementType: dtype, shape: dims) }
}
