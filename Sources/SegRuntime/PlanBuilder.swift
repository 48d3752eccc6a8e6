import SegGraph
import SegKernels
import SegReference
import SegTensor

/// Builds the step list and the memory plan for one compiled shape.
struct PlanBuilder {
    let model: Model
    let nodes: [Node]
    let inference: ShapeInference
    let registry: OperatorRegistry
    let fastKernels: Bool
    let context: KernelContext
    var readers: [String: Int] = [:]
    /// Run QDQ patterns on INT8 kernels.
    var int8 = false
    /// Initializer DQs of the model as loaded (the INT8 path needs their codes).
    var quantized: [String: QuantizedConstant] = [:]
    /// Forces the INT8 GEMM summation path (nil: per layer, the fastest exact one).
    var qgemmPath: QGemmPath? = nil
    /// The INT8 plan, when the compiler made it before fusing (on the unfused graph, re-indexed
    /// to these nodes); nil with `int8` on: made here.
    var int8Plan: Int8Plan? = nil

    init(model: Model, nodes: [Node], inference: ShapeInference, registry: OperatorRegistry, fastKernels: Bool, context: KernelContext) {
        self.context = context
        self.model = model
        self.nodes = nodes
        self.inference = inference
        self.registry = registry
        self.fastKernels = fastKernels
        for n in nodes { for i in n.inputs where !i.isEmpty { readers[i, default: 0] += 1 } }
        for o in model.graph.outputs { readers[o.name, default: 0] += 1 }
    }

    func dims(_ name: String) -> [Int]? { inference.types[name]?.concreteDims }

    func constant(_ name: String) -> Tensor? {
        name.isEmpty ? nil : (model.graph.initializers[name] ?? inference.constants[name])
    }

    /// A value that lives in the float arena: f32, static shape, computed at run time.
    func isPlanned(_ name: String) -> Bool {
        !name.isEmpty && constant(name) == nil && inference.types[name]?.elementType == .f32 && dims(name) != nil
    }

    /// A value with an arena slot: f32 (`isPlanned`) or byte-sized (u8/i8, quantized
    /// activations), static shape, computed at run time.
    func isArena(_ name: String) -> Bool {
        guard !name.isEmpty, constant(name) == nil, let t = inference.types[name]?.elementType, dims(name) != nil else { return false }
        return t == .f32 || t == .u8 || t == .i8
    }

    func elementType(_ name: String) -> DType { inference.types[name]?.elementType ?? .f32 }

    func isGraphOutput(_ name: String) -> Bool { model.graph.outputs.contains { $0.name == name } }

    /// One step before slots are known: what it reads and writes by name, and how to make it.
    struct Pending {
        var reads: [String]
        var writes: [String]
        var kind: String
        var make: (_ slot: (String) -> Slot) throws -> any Step
        /// Set for a reshape whose output can be its input's memory seen with new dims: no
        /// step runs, and the planner gives both names one slot.
        var aliasOf: String? = nil

        init(reads: [String], writes: [String], kind: String, make: @escaping (_ slot: (String) -> Slot) throws -> any Step) {
            self.reads = reads
            self.writes = writes
            self.kind = kind
            self.make = make
        }

        /// `output` is `input` reshaped (same elements in the same order).
        static func alias(_ output: String, of input: String, kind: String) -> Pending {
            var p = Pending(reads: [input], writes: [output], kind: kind) { _ in
                throw ExecutionError.node(output, .other("an aliased reshape has no step"))
            }
            p.aliasOf = input
            return p
        }
    }

    /// Whether `output = reshape(input)` may share `input`'s memory: `input` is read by this
    /// node alone and is neither a graph input nor output (whose slots are filled and read
    /// by the caller), and `output` is not a graph output.
    func canAlias(_ output: String, to input: String) -> Bool {
        readers[input] == 1 && !isGraphOutput(input) && !isGraphOutput(output)
            && !model.graph.runtimeInputs.contains { $0.name == input }
            && elementType(input) == elementType(output)
    }

    func build(inputShapes: [String: [Int]]) throws -> CompiledModel {
        var pending: [Pending] = []
        var consumed = Set<Int>()
        let int8Plan = int8 && fastKernels ? (self.int8Plan ?? Int8Plan(self)) : nil
        for (i, node) in nodes.enumerated() where !consumed.contains(i) {
            if let int8Plan {
                if int8Plan.skipped.contains(i) { continue }
                if let m = int8Plan.matches[i] {
                    consumed.formUnion(m.consumed)
                    pending.append(m.pending)
                    continue
                }
                if let edge = int8Plan.edge(i, self) {
                    pending.append(edge)
                    continue
                }
            }
            if fastKernels, let fast = try KernelTable.select(i, in: self, consumed: &consumed) {
                pending.append(fast)
            } else {
                pending.append(try fallback(node))
            }
        }

        // Dead steps: a fused kernel can consume a node whose inputs were produced by steps
        // nobody else reads (an INT8 conv reads its weight codes directly, leaving the weight's
        // DequantizeLinear behind, which re-dequantized 2.4M-element weights every run).
        var needed = Set(model.graph.outputs.map(\.name))
        var live = [Bool](repeating: false, count: pending.count)
        for s in pending.indices.reversed() where pending[s].writes.contains(where: needed.contains) {
            live[s] = true
            needed.formUnion(pending[s].reads)
        }
        pending = pending.indices.filter { live[$0] }.map { pending[$0] }

        // Aliased reshapes: every name maps to the value that owns the memory.
        var owner: [String: String] = [:]
        for p in pending {
            if let source = p.aliasOf, let out = p.writes.first { owner[out] = owner[source] ?? source }
        }
        func root(_ name: String) -> String { owner[name] ?? name }

        // Lifetimes → offsets (an owner lives until the last read of any of its aliases).
        var first: [String: Int] = [:], last: [String: Int] = [:]
        let graphInputs = model.graph.runtimeInputs.map(\.name)
        for name in graphInputs where isArena(name) { first[name] = -1 }
        for (s, p) in pending.enumerated() {
            for w in p.writes where isArena(w) && first[root(w)] == nil { first[root(w)] = s }
            for r in p.reads where isArena(r) { last[root(r)] = max(last[root(r)] ?? s, s) }
        }
        for o in model.graph.outputs where isArena(o.name) { last[root(o.name)] = Int.max }
        let requests = first.map { name, f in
            MemoryPlan.Request(name: name, count: Slot.floats(count: dims(name)?.reduce(1, *) ?? 0, dtype: elementType(name)),
                               first: f, last: last[name] ?? f)
        }
        let plan = MemoryPlan(requests)
        func slot(_ name: String) -> Slot {
            let d = dims(name) ?? []
            return Slot(offset: plan.offsets[root(name)] ?? 0, count: d.reduce(1, *), dims: d, dtype: elementType(name))
        }
        var steps: [any Step] = []
        var counts: [String: Int] = [:]
        for p in pending {
            counts[p.kind, default: 0] += 1
            if p.aliasOf != nil { continue }
            steps.append(try p.make(slot))
        }
        let inputSlots = graphInputs.filter(isArena).map { ($0, slot($0)) }
        let outputs: [(String, FallbackStep.Operand, DType)] = model.graph.outputs.map { o in
            if let c = constant(o.name) { return (o.name, .constant(c), c.dtype) }
            if isArena(o.name) { return (o.name, .slot(slot(o.name)), elementType(o.name)) }
            return (o.name, .tensor(o.name), inference.types[o.name]?.elementType ?? .f32)
        }
        return CompiledModel(inputShapes: inputShapes, steps: steps, inputSlots: inputSlots, outputs: outputs,
                             floatCount: plan.totalFloats, kernelCounts: counts)
    }

    func operand(_ name: String, slot: (String) -> Slot) -> FallbackStep.Operand {
        if name.isEmpty { return .absent }
        if let c = constant(name) { return .constant(c) }
        if isArena(name) { return .slot(slot(name)) }
        return .tensor(name)
    }

    func fallback(_ node: Node) throws -> Pending {
        let opset = model.opsetVersion(for: node.domain.isEmpty || node.domain == "ai.onnx" ? "" : node.domain) ?? 0
        guard let def = registry.definition(domain: node.domain, opType: node.opType, opset: opset) else {
            throw ExecutionError.unsupported([UnsupportedUse(domain: node.domain, opType: node.opType, opset: opset, nodes: [node.name], reason: "operator not implemented")])
        }
        let label = node.name.isEmpty ? node.opType : "'\(node.name)' (\(node.opType))"
        return Pending(reads: node.inputs.filter { !$0.isEmpty }, writes: node.outputs.filter { !$0.isEmpty }, kind: "\(node.opType) (reference)") { slot in
            FallbackStep(node: node, label: label, context: NodeContext(node: node, opset: opset), definition: def,
                         inputs: node.inputs.map { operand($0, slot: slot) }, outputs: node.outputs.map { operand($0, slot: slot) })
        }
    }
}
