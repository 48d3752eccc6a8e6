import Foundation
import SegGraph
import SegReference
import SegTensor

/// One-node models for the nn family's focused tests.
enum NNHarness {
    static func type(_ dtype: DType, _ dims: [SegGraph.Dimension]) -> TensorType { TensorType(elementType: dtype, shape: dims) }

    /// A model with one `op` node: inputs `x0, x1, ...` (nil entries become "" — absent),
    /// `constants` as initializers, outputs `y0, y1, ...`.
    static func model(_ op: String, opset: Int, types: [TensorType?], constants: [Int: Tensor] = [:],
                      attributes: [NamedAttribute] = [], outputs: Int = 1) -> Model {
        let names = types.indices.map { types[$0] == nil && constants[$0] == nil ? "" : "x\($0)" }
        let node = Node(name: "n", opType: op, inputs: names, outputs: (0..<outputs).map { "y\($0)" }, attributes: attributes)
        let inputs = types.indices.compactMap { i in types[i].flatMap { constants[i] == nil ? ValueInfo(name: "x\(i)", type: $0) : nil } }
        let graph = Graph(name: "g", nodes: [node], inputs: inputs, outputs: (0..<outputs).map { ValueInfo(name: "y\($0)") },
                          initializers: Initializers(constants.map { ("x\($0.key)", $0.value) }))
        return Model(graph: graph, opsetImports: [OpsetImport(domain: "", version: opset)])
    }

    /// Runs `op` on concrete inputs (nil = absent); `constantInputs` become initializers.
    static func run(_ op: String, opset: Int, _ inputs: [Tensor?], constantInputs: Set<Int> = [],
                    attributes: [NamedAttribute] = [], outputs: Int = 1) throws -> [Tensor] {
        var constants: [Int: Tensor] = [:]
        for i in constantInputs { constants[i] = inputs[i] }
        let types = inputs.map { $0.map { TensorType(elementType: $0.dtype, shape: $0.dims.map { .value($0) }) } }
        let m = model(op, opset: opset, types: types, constants: constants, attributes: attributes, outputs: outputs)
        let executor = try ReferenceExecutor(model: m)
        var feed: [String: Tensor] = [:]
        for (i, t) in inputs.enumerated() where constants[i] == nil { if let t { feed["x\(i)"] = t } }
        let out = try executor.run(feed)
        return try (0..<outputs).map { k in
            guard let t = out["y\(k)"] else { throw OpError.other("missing output y\(k)") }
            return t
        }
    }

    /// Inferred output types of `op` given input types and constant inputs.
    static func inferred(_ op: String, opset: Int, types: [TensorType?], constants: [Int: Tensor] = [:],
                         attributes: [NamedAttribute] = [], outputs: Int = 1) throws -> [TensorType?] {
        let m = model(op, opset: opset, types: types, constants: constants, attributes: attributes, outputs: outputs)
        let inference = try ShapeInference(model: m)
        return (0..<outputs).map { inference.types["y\($0)"] }
    }

    static func floats(_ dims: [Int], _ values: [Float]) throws -> Tensor { try Tensor(dims: dims, scalars: values) }
    static func i64(_ values: [Int64]) throws -> Tensor { try Tensor(dims: [values.count], scalars: values) }
    static func f32(_ values: [Float]) throws -> Tensor { try Tensor(dims: [values.count], scalars: values) }
    static func ramp(_ dims: [Int]) throws -> Tensor { try Tensor(dims: dims, scalars: (0..<dims.reduce(1, *)).map { Float($0) }) }

    /// Message of the load-time refusal of a model (nil when it loads).
    static func refusal(_ m: Model) -> String? {
        do { _ = try ReferenceExecutor(model: m); return nil } catch { return "\(error)" }
    }
}
