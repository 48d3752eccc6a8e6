import SegGraph
import SegReference
import SegTensor

/// One unit of a compiled plan.
protocol Step: Sendable {
    /// For profiles: the op type (or fused pattern) it runs.
    var kind: String { get }
    /// For per-step profiles: the kind plus what tells two steps of one kind apart (shapes,
    /// algorithm). Defaults to `kind`.
    var detail: String { get }
    /// Bytes the step keeps for the plan's lifetime outside the arena (packed weights, copied
    /// constants); see PlanMemory.swift.
    var heldBytes: Int { get }
    func execute(_ arena: Arena) throws
}

extension Step {
    var detail: String { kind }
}

/// A node with no fast kernel: its reference implementation, on tensors copied out of and
/// back into the arena. Correct for every op the reference executor supports.
struct FallbackStep: Step {
    let node: Node
    let label: String
    let context: NodeContext
    let definition: OperatorDefinition
    /// For each input: a planned slot, a constant, or an unplanned tensor name.
    let inputs: [Operand]
    let outputs: [Operand]
    /// Named as in `kernelCounts`, so a profile tells a fallback from the fast kernel of its op.
    var kind: String { "\(node.opType) (reference)" }

    enum Operand: Sendable {
        case absent
        case slot(Slot)
        case constant(Tensor)
        case tensor(String)
    }

    func execute(_ arena: Arena) throws {
        var args: [Tensor?] = []
        for op in inputs {
            switch op {
            case .absent: args.append(nil)
            case .constant(let t): args.append(t)
            case .tensor(let name): args.append(arena.tensors[name])
            case .slot(let s):
                args.append(try s.tensor(in: arena))
            }
        }
        let results: [Tensor]
        do { results = try definition.run(context, args) } catch { throw ExecutionError.node(label, OpError(error)) }
        for (op, t) in zip(outputs, results) {
            switch op {
            case .slot(let s):
                guard t.dtype == s.dtype, t.elementCount == s.count else {
                    throw ExecutionError.node(label, .other("produced \(t.dtype)\(t.shape), planned \(s.dtype)\(s.dims)"))
                }
                try s.store(t, in: arena)
            case .tensor(let name): arena.tensors[name] = t
            case .absent, .constant: break
            }
        }
    }
}
