import SegGraph
import SegReference
import SegTensor
import SegKernels

/// A model compiled for training at fixed input shapes: the nodes downstream of the inputs
/// or of a trainable parameter become differentiable steps, everything else (shape chains,
/// Resize sizes, frozen branches) is evaluated once here. `forward` runs the steps keeping
/// what their backward passes need; `backward` walks them in reverse and returns the
/// gradient of every trainable parameter.
///
/// Shapes are re-inferred per input shape, as the runtime compiles per shape: a model
/// exported at 1×3×360×480 trains at 8×3×240×320 with a program built for that shape.
package final class TrainingProgram {
    package let inputShapes: [String: [Int]]
    package let trainable: [String]
    package let state: [String]
    package let outputs: [String]

    struct Entry {
        let node: Node
        let label: String
        let step: DifferentiableStep
        /// Per input: value name when dynamic (fed at run time), nil when static or absent.
        let dynamicInputs: [String?]
        /// Per input: whether its gradient is needed (it leads back to a trainable parameter).
        let wanted: [Bool]
    }

    private let entries: [Entry]
    /// Forward: after entry i, values whose last reader is i are dropped.
    private let dropAfter: [[String]]
    private let graphInputs: [String]

    /// `trainable` are the initializers to differentiate (see `TrainableParameters`); other
    /// initializers are constants. `outputs` defaults to the graph's first output.
    package init(model: Model, inputShapes: [String: [Int]], trainable: [String], state: [String] = [],
                 outputs: [String]? = nil, options: TrainingOptions = TrainingOptions(), registry: GradientRegistry = .standard,
                 kernels: KernelContext = .shared) throws(AutodiffError) {
        // A fixed-size export trained at other shapes: its baked Resize targets follow the
        // tensors they were traced from (see RelativeResizeSizes).
        let declaredShapes = Dictionary(model.graph.runtimeInputs.compactMap { v in v.type?.concreteDims.map { (v.name, $0) } },
                                        uniquingKeysWith: { a, _ in a })
        let model = inputShapes.contains { declaredShapes[$0.key] != nil && declaredShapes[$0.key] != $0.value }
            ? RelativeResizeSizes.rewrite(model) : model
        let graph = model.graph
        let wantedOutputs = outputs ?? graph.outputs.prefix(1).map(\.name)
        // A graph output or any tensor a node computes (distillation reads intermediate features).
        for name in wantedOutputs where !graph.outputs.contains(where: { $0.name == name }) && !graph.nodes.contains(where: { $0.outputs.contains(name) }) {
            throw .unknownOutput(name)
        }
        let runtimeInputs = graph.runtimeInputs.map(\.name)
        for name in inputShapes.keys where !runtimeInputs.contains(name) { throw .unknownInput(name, known: runtimeInputs) }
        for name in runtimeInputs where inputShapes[name] == nil { throw .missingInput(name) }

        // Shapes and constants for these input shapes. Trainable initializers are constants to
        // inference; nothing downstream of one may be taken as static (checked below).
        let inference: ShapeInference
        do { inference = try ShapeInference(model: model, inputShapes: inputShapes) } catch { throw .shapes("\(error)") }
        let order: [Int]
        do { order = try graph.topologicalOrder() } catch { throw .shapes("\(error)") }

        // State (running statistics) changes every step: fed like parameters, never differentiated.
        var dynamic = Set(runtimeInputs).union(trainable).union(state)
        var needsGradient = Set(trainable)
        var constants: [String: Tensor] = [:]
        for (name, t) in graph.initializers where !dynamic.contains(name) { constants[name] = t }
        var entries: [Entry] = []
        var missingRules: [String] = []
        for index in order {
            let node = graph.nodes[index]
            let label = node.label(index: index)
            // Shape and Size read only a shape, which is fixed for this program: constants.
            let readsOnlyShape = node.domain.isEmpty && (node.opType == "Shape" || node.opType == "Size")
                && node.outputs.allSatisfy { $0.isEmpty || inference.constants[$0] != nil }
            let isDynamic = !readsOnlyShape && node.inputs.contains { !$0.isEmpty && dynamic.contains($0) }
            guard isDynamic else {
                // Static: folded by inference, or evaluated here.
                try Self.evaluateStatic(node, label: label, model: model, inference: inference, into: &constants)
                continue
            }
            let opset = model.opsetVersion(for: OperatorRegistry.canonical(node.domain)) ?? model.opsetVersion(for: node.domain) ?? 0
            for out in node.outputs where !out.isEmpty { dynamic.insert(out) }
            let carries = node.inputs.contains { !$0.isEmpty && needsGradient.contains($0) }
            if carries { for out in node.outputs where !out.isEmpty { needsGradient.insert(out) } }
            guard let rule = registry.rule(domain: node.domain, opType: node.opType, opset: opset) else {
                missingRules.append(label)
                continue
            }
            guard missingRules.isEmpty else { continue }
            let context = RuleContext(
                node: node, label: label, attributes: NodeContext(node: node, opset: opset),
                inputShapes: node.inputs.map { $0.isEmpty ? nil : inference.types[$0]?.concreteDims ?? constants[$0]?.dims },
                outputShapes: node.outputs.map { $0.isEmpty ? nil : inference.types[$0]?.concreteDims },
                constants: node.inputs.map { $0.isEmpty || dynamic.contains($0) ? nil : constants[$0] },
                dynamic: node.inputs.map { !$0.isEmpty && dynamic.contains($0) },
                options: options, kernels: kernels)
            let step = try rule.make(context)
            entries.append(Entry(node: node, label: label, step: step,
                                 dynamicInputs: node.inputs.map { !$0.isEmpty && dynamic.contains($0) ? $0 : nil },
                                 wanted: node.inputs.map { !$0.isEmpty && needsGradient.contains($0) }))
        }
        guard missingRules.isEmpty else { throw .noGradientRule(missingRules) }
        for name in wantedOutputs where !needsGradient.contains(name) {
            throw .noTrainableParameters("output '\(name)' does not depend on any trainable parameter")
        }

        var lastRead: [String: Int] = [:]
        for (i, e) in entries.enumerated() { for case let name? in e.dynamicInputs { lastRead[name] = i } }
        var dropAfter = [[String]](repeating: [], count: entries.count)
        let keep = Set(wantedOutputs).union(trainable).union(runtimeInputs)
        for (name, i) in lastRead where !keep.contains(name) { dropAfter[i].append(name) }

        self.inputShapes = inputShapes
        self.trainable = trainable
        self.state = state
        self.outputs = wantedOutputs
        self.entries = entries
        self.dropAfter = dropAfter
        self.graphInputs = runtimeInputs
    }

    private static func evaluateStatic(_ node: Node, label: String, model: Model, inference: ShapeInference,
                                       into constants: inout [String: Tensor]) throws(AutodiffError) {
        let outputs = node.outputs.filter { !$0.isEmpty }
        if outputs.allSatisfy({ inference.constants[$0] != nil }) {
            for name in outputs { constants[name] = inference.constants[name] }
            return
        }
        // Inference leaves big results unfolded; evaluate them now (they are constants here).
        let opset = model.opsetVersion(for: OperatorRegistry.canonical(node.domain)) ?? model.opsetVersion(for: node.domain) ?? 0
        guard let def = OperatorRegistry.standard.definition(domain: node.domain, opType: node.opType, opset: opset) else {
            throw .node(label, "operator \(node.opType) is not implemented")
        }
        var args: [Tensor?] = []
        for name in node.inputs {
            if name.isEmpty { args.append(nil); continue }
            guard let v = constants[name] else { throw .node(label, "input '\(name)' is neither a constant nor computed from the model's inputs") }
            args.append(v)
        }
        do {
            let values = try def.run(NodeContext(node: node, opset: opset), args)
            for (name, v) in zip(node.outputs, values) where !name.isEmpty { constants[name] = v }
        } catch {
            throw .node(label, "\(error)")
        }
    }

    /// Runs the forward pass in training mode. `parameters` holds every trainable and state
    /// value by name; `inputs` every graph input. Returns the requested outputs and the new values of
    /// the state initializers (BatchNormalization running statistics).
    package func forward(inputs: [String: FloatTensor], parameters: [String: FloatTensor],
                         isCancelled: () -> Bool = { false }) throws(AutodiffError) -> (outputs: [String: FloatTensor], state: [String: FloatTensor]) {
        var values: [String: FloatTensor] = [:]
        for name in graphInputs {
            guard let v = inputs[name] else { throw .missingInput(name) }
            if let expected = inputShapes[name], expected != v.dims { throw .inputShape(name, expected: expected, actual: v.dims) }
            values[name] = v
        }
        for name in trainable + state {
            guard let v = parameters[name] else { throw .missingInput(name) }
            values[name] = v
        }
        var stateOut: [String: FloatTensor] = [:]
        for (i, e) in entries.enumerated() {
            if isCancelled() { throw .node(e.label, "cancelled") }
            var args: [FloatTensor?] = []
            args.reserveCapacity(e.dynamicInputs.count)
            for name in e.dynamicInputs { args.append(name.flatMap { values[$0] }) }
            let results = try e.step.forward(args)
            for (name, v) in zip(e.node.outputs, results) where !name.isEmpty { values[name] = v }
            for (index, v) in e.step.stateUpdates { stateOut[e.node.inputs[index]] = v }
            for name in dropAfter[i] { values[name] = nil }
        }
        var out: [String: FloatTensor] = [:]
        for name in outputs { out[name] = values[name] }
        return (out, stateOut)
    }

    /// Backward pass after `forward`: `outputGradients` by output name. Returns the gradient
    /// of every trainable parameter that a gradient reached (absent ones are zero).
    package func backward(outputGradients: [String: FloatTensor],
                          isCancelled: () -> Bool = { false }) throws(AutodiffError) -> [String: FloatTensor] {
        var grads = outputGradients
        for e in entries.reversed() {
            if isCancelled() { releaseAll(); throw .node(e.label, "cancelled") }
            let outGrads = e.node.outputs.map { $0.isEmpty ? nil : grads[$0] }
            for name in e.node.outputs where !name.isEmpty { grads[name] = nil }
            guard e.wanted.contains(true), outGrads.contains(where: { $0 != nil }) else { e.step.release(); continue }
            let inGrads = try e.step.backward(outGrads, wanted: e.wanted)
            e.step.release()
            for (i, g) in inGrads.enumerated() where e.wanted[i] {
                guard let g else { continue }
                let name = e.node.inputs[i]
                if grads[name] == nil { grads[name] = g } else { grads[name]!.accumulate(g) }
            }
        }
        var result: [String: FloatTensor] = [:]
        for name in trainable { result[name] = grads[name] }
        return result
    }

    /// Drops every saved activation (a step abandoned half-way).
    package func releaseAll() { for e in entries { e.step.release() } }

    /// Op types of the differentiable steps, in order (tests and reports).
    package var stepOpTypes: [String] { entries.map(\.node.opType) }
}
