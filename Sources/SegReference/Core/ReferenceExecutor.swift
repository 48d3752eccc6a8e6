import SegGraph
import SegTensor

/// Runs a model node by node with plain, readable kernels: the oracle the fast runtime is
/// checked against. Correctness over speed; every value is a fresh tensor.
package struct ReferenceExecutor: Sendable {
    package let model: Model
    let registry: OperatorRegistry
    /// Nodes in topological order, each with its implementation and context.
    let steps: [(node: Node, label: String, context: NodeContext, definition: OperatorDefinition)]
    /// Last use of each value, to drop intermediates early and keep memory bounded.
    let lastUse: [String: Int]

    /// Checks the whole model up front: a model we cannot run fails here, listing every
    /// unsupported operator, never half-way through a run.
    package init(model: Model, registry: OperatorRegistry = .standard) throws(ExecutionError) {
        let unsupported = registry.unsupportedUses(in: model)
        guard unsupported.isEmpty else { throw .unsupported(unsupported) }
        let order: [Int]
        do { order = try model.graph.topologicalOrder() } catch { throw .graph(error) }
        var steps: [(Node, String, NodeContext, OperatorDefinition)] = []
        for index in order {
            let node = model.graph.nodes[index]
            let opset = model.opsetVersion(for: OperatorRegistry.canonical(node.domain)) ?? model.opsetVersion(for: node.domain) ?? 0
            guard let def = registry.definition(domain: node.domain, opType: node.opType, opset: opset) else {
                throw .unsupported([UnsupportedUse(domain: node.domain, opType: node.opType, opset: opset, nodes: [node.label(index: index)], reason: "operator not implemented")])
            }
            steps.append((node, node.label(index: index), NodeContext(node: node, opset: opset), def))
        }
        var lastUse: [String: Int] = [:]
        for (i, s) in steps.enumerated() { for input in s.0.inputs where !input.isEmpty { lastUse[input] = i } }
        for o in model.graph.outputs { lastUse[o.name] = Int.max }
        self.model = model
        self.registry = registry
        self.steps = steps
        self.lastUse = lastUse
    }

    /// Runs the model on `inputs` (by graph input name); returns every graph output by name.
    /// Inputs that shadow initializers are allowed (ONNX semantics); missing ones are errors.
    /// `isCancelled` is polled between nodes, so a long run stops promptly when cancelled.
    package func run(_ inputs: [String: Tensor], isCancelled: () -> Bool = { false }) throws(ExecutionError) -> [String: Tensor] {
        let graph = model.graph
        var values: [String: Tensor] = [:]
        for (name, tensor) in graph.initializers { values[name] = tensor }
        let declared = Dictionary(graph.inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (name, tensor) in inputs {
            guard let info = declared[name] else { throw .unknownInput(name, known: graph.runtimeInputs.map(\.name)) }
            if let type = info.type { try Self.checkInput(name, tensor, against: type) }
            values[name] = tensor
        }
        for input in graph.runtimeInputs where values[input.name] == nil { throw .missingInput(input.name) }

        for (i, step) in steps.enumerated() {
            if isCancelled() { throw .cancelled }
            var args: [Tensor?] = []
            args.reserveCapacity(step.node.inputs.count)
            for name in step.node.inputs {
                if name.isEmpty { args.append(nil); continue }
                guard let v = values[name] else {
                    throw .node(step.label, .other("input '\(name)' has no value (is it produced by a node?)"))
                }
                args.append(v)
            }
            let outputs: [Tensor]
            do { outputs = try step.definition.run(step.context, args) } catch { throw .node(step.label, OpError(error)) }
            for (name, tensor) in zip(step.node.outputs, outputs) where !name.isEmpty { values[name] = tensor }
            for name in step.node.inputs where !name.isEmpty && lastUse[name] == i && !graph.initializers.contains(name) {
                values[name] = nil
            }
        }
        var result: [String: Tensor] = [:]
        for o in graph.outputs {
            guard let v = values[o.name] else { throw .node("(graph output)", .other("output '\(o.name)' was never produced")) }
            result[o.name] = v
        }
        return result
    }

    /// Checks run-time inputs against the graph's declared inputs: every runtime input given,
    /// no unknown names, dtypes and static dims as declared.
    package static func validate(_ inputs: [String: Tensor], for graph: Graph) throws(ExecutionError) {
        let declared = Dictionary(graph.inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (name, tensor) in inputs {
            guard let info = declared[name] else { throw .unknownInput(name, known: graph.runtimeInputs.map(\.name)) }
            if let type = info.type { try checkInput(name, tensor, against: type) }
        }
        for input in graph.runtimeInputs where inputs[input.name] == nil { throw .missingInput(input.name) }
    }

    /// `validate` for inputs known by dtype and dims before any tensor holds them (a runner
    /// that writes an input straight into its arena).
    package static func validate(name: String, dtype: DType, dims: [Int], for graph: Graph) throws(ExecutionError) {
        guard let info = graph.inputs.first(where: { $0.name == name }) else {
            throw .unknownInput(name, known: graph.runtimeInputs.map(\.name))
        }
        if let type = info.type { try checkInput(name, dtype: dtype, dims: dims, against: type) }
        for input in graph.runtimeInputs where input.name != name { throw .missingInput(input.name) }
    }

    static func checkInput(_ name: String, _ t: Tensor, against type: TensorType) throws(ExecutionError) {
        try checkInput(name, dtype: t.dtype, dims: t.dims, against: type)
    }

    static func checkInput(_ name: String, dtype: DType, dims: [Int], against type: TensorType) throws(ExecutionError) {
        let actual = "\(dtype)\((try? Shape(dims)).map { "\($0)" } ?? "\(dims)")"
        if let dt = type.elementType, dt != dtype { throw .inputMismatch(name: name, expected: type, actual: actual) }
        guard let shape = type.shape else { return }
        guard shape.count == dims.count else { throw .inputMismatch(name: name, expected: type, actual: actual) }
        for (d, value) in zip(shape, dims) {
            if case .value(let v) = d, v != value { throw .inputMismatch(name: name, expected: type, actual: actual) }
        }
    }
}
