import SegGraph
import SegTensor

/// Types (dtype + possibly symbolic shape) of every value, with constant folding: a node
/// whose inputs are all known constants is run, so the shape subgraphs exporters emit
/// (Shape → Gather → Concat → Reshape) become constants once input shapes are known.
package struct ShapeInference: Sendable {
    package var types: [String: TensorType] = [:]
    /// Values known at load: initializers plus everything folded.
    package var constants: [String: Tensor] = [:]
    /// Declared shapes (outputs, value_info) that disagree with inference: warnings, not errors
    /// (exporters write wrong ones and ORT runs such models).
    package var warnings: [String] = []

    /// Largest tensor (in elements) folding may create; bigger results stay runtime values.
    package static let maxFoldedElements = 1 << 20

    /// `inputShapes` overrides graph input shapes (e.g. concrete H/W for a dynamic model).
    package init(model: Model, registry: OperatorRegistry = .standard, inputShapes: [String: [Int]] = [:]) throws(ExecutionError) {
        let graph = model.graph
        for (name, t) in graph.initializers {
            constants[name] = t
            types[name] = TensorType(elementType: t.dtype, shape: t.dims.map { .value($0) })
        }
        for input in graph.inputs where !graph.initializers.contains(input.name) {
            var type = input.type ?? TensorType(elementType: nil, shape: nil)
            if let dims = inputShapes[input.name] { type.shape = dims.map { .value($0) } }
            types[input.name] = type
        }
        let order: [Int]
        do { order = try graph.topologicalOrder() } catch { throw .graph(error) }
        for index in order {
            let node = graph.nodes[index]
            let opset = model.opsetVersion(for: OperatorRegistry.canonical(node.domain)) ?? model.opsetVersion(for: node.domain) ?? 0
            guard let def = registry.definition(domain: node.domain, opType: node.opType, opset: opset) else { continue }
            let ctx = NodeContext(node: node, opset: opset)
            let args: [InferredValue?] = node.inputs.map { name in
                name.isEmpty ? nil : InferredValue(type: types[name], constant: constants[name])
            }
            // Shape and Size only need the input's shape: once that is static they are constants,
            // which is what turns exporters' Shape → Gather → Concat → Reshape chains static.
            if node.domain.isEmpty, node.opType == "Shape" || node.opType == "Size", let first = node.inputs.first,
               let dims = types[first]?.concreteDims, let out = node.outputs.first, !out.isEmpty,
               let value = Self.shapeValue(node, dims: dims, opset: opset) {
                constants[out] = value
                types[out] = TensorType(elementType: .i64, shape: value.dims.map { .value($0) })
                continue
            }
            let allConstant = node.inputs.allSatisfy { $0.isEmpty || constants[$0] != nil }
            let foldable = allConstant && !Self.neverFold.contains(node.opType) && node.attributes.allSatisfy { $0.value.subgraphs.isEmpty }
            if foldable, let outputs = try? def.run(ctx, node.inputs.map { $0.isEmpty ? nil : constants[$0] }),
               outputs.allSatisfy({ $0.elementCount <= Self.maxFoldedElements }) {
                for (name, t) in zip(node.outputs, outputs) where !name.isEmpty {
                    constants[name] = t
                    types[name] = TensorType(elementType: t.dtype, shape: t.dims.map { .value($0) })
                }
                continue
            }
            guard let infer = def.infer else { continue }
            let inferred: [TensorType?]
            do { inferred = try infer(ctx, args) } catch { throw .node(node.label(index: index), OpError(error)) }
            for (name, t) in zip(node.outputs, inferred) where !name.isEmpty {
                if let t { types[name] = t }
            }
        }
        for declared in graph.outputs + graph.valueInfo {
            guard let declaredType = declared.type, let d = declaredType.shape,
                  let inferredType = types[declared.name], let inferred = inferredType.shape else { continue }
            if !Self.compatible(d, inferred) {
                warnings.append("'\(declared.name)' is declared \(declaredType) but infers as \(inferredType)")
            }
        }
    }

    /// Shape (with opset-15 start/end) or Size of a tensor with static `dims`.
    static func shapeValue(_ node: Node, dims: [Int], opset: Int) -> Tensor? {
        if node.opType == "Size" { return Tensor(scalar: Int64(dims.reduce(1, *))) }
        let rank = dims.count
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + rank : v, 0), rank) }
        let start = opset >= 15 ? clamp(node[attribute: "start"]?.intValue ?? 0) : 0
        let end = opset >= 15 ? clamp(node[attribute: "end"]?.intValue ?? rank) : rank
        let slice = start < end ? dims[start..<end].map(Int64.init) : []
        return try? Tensor(dims: [slice.count], scalars: slice)
    }

    /// Ops whose result must not be computed at load (random, or depending on run-time state).
    static let neverFold: Set<String> = ["RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"]

    static func compatible(_ a: [Dimension], _ b: [Dimension]) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) {
            if case .value(let u) = x, case .value(let v) = y, u != v { return false }
        }
        return true
    }
}
