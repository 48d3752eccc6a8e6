import Foundation
import SegGraph
import SegKernels
import SegReference
import SegRewrite
import SegTensor
import Synchronization

/// A model compiled for one set of input shapes: graph cleaned up (BN folded, constants and
/// shape subgraphs folded), every value's shape known, a kernel chosen per node (fused with the
/// activation or residual add that follows where possible), weights pre-packed, and all f32
/// intermediates planned into one arena. Nodes without a fast kernel run their reference
/// implementation, so every model the reference executor runs, this runs too.
package final class CompiledModel: Sendable {
    package let inputShapes: [String: [Int]]
    let steps: [any Step]
    let inputSlots: [(name: String, slot: Slot)]
    let outputs: [(name: String, operand: FallbackStep.Operand, dtype: DType)]
    package let arenaBytes: Int
    /// Steps by kind: how many nodes got a fast kernel and how many fell back.
    package let kernelCounts: [String: Int]
    private let arenas = Mutex<[Arena]>([])
    let floatCount: Int

    init(inputShapes: [String: [Int]], steps: [any Step], inputSlots: [(String, Slot)],
         outputs: [(String, FallbackStep.Operand, DType)], floatCount: Int, kernelCounts: [String: Int]) {
        self.inputShapes = inputShapes
        self.steps = steps
        self.inputSlots = inputSlots.map { (name: $0.0, slot: $0.1) }
        self.outputs = outputs.map { (name: $0.0, operand: $0.1, dtype: $0.2) }
        self.floatCount = floatCount
        self.arenaBytes = floatCount * 4
        self.kernelCounts = kernelCounts
    }

    /// The steps that run on SegKernels' `Conv2D`, in order, with their kinds ("Conv+Add",
    /// "Conv (taps trimmed)"): which algorithm and operand path each conv took, for tests.
    package var convolutions: [(kind: String, conv: Conv2D)] {
        steps.compactMap { step in (step as? ConvStep).map { ($0.kind, $0.conv) } }
    }

    /// An arena for one run; two concurrent runs get two arenas (kept for reuse).
    func checkoutArena() -> Arena {
        arenas.withLock { $0.popLast() } ?? Arena(floatCount: floatCount)
    }

    func checkin(_ arena: Arena) {
        arena.tensors.removeAll(keepingCapacity: true)
        arenas.withLock { if $0.count < 4 { $0.append(arena) } }
    }

    /// What step `index` runs, for profiles: its kind and, where the step knows them, the
    /// shapes and algorithm ("Conv+act 64→128 3×3/2 g1 @64×64 implicitGEMM").
    package func stepDescription(_ index: Int) -> String {
        steps.indices.contains(index) ? steps[index].detail : "?"
    }

    /// Runs on inputs of exactly the compiled shapes. `profile`, when given, receives every
    /// step's index (see `stepDescription`), kind and time in ms.
    package func run(_ inputs: [String: Tensor], isCancelled: () -> Bool = { false },
                    profile: ((Int, String, Double) -> Void)? = nil) throws -> [String: Tensor] {
        let arena = checkoutArena()
        defer { checkin(arena) }
        try execute(inputs, in: arena, isCancelled: isCancelled, profile: profile)
        return try collectOutputs(arena)
    }

    /// Runs, then hands `body` the output `name` where it lies in the arena when it is an f32
    /// slot (no copy: a segmentation model's scores are megabytes and the argmax reads them
    /// once), else as a tensor. The view is valid only inside `body`.
    package func run<R>(_ inputs: [String: Tensor], isCancelled: () -> Bool = { false }, reading name: String,
                        _ body: (OutputView) throws -> R) throws -> R {
        let arena = checkoutArena()
        defer { checkin(arena) }
        try execute(inputs, in: arena, isCancelled: isCancelled, profile: nil)
        return try read(name, from: arena, body)
    }

    /// Runs with the f32 input `name` (the plan's only input) written by `fill` straight into
    /// its arena slot (`count` floats, every one of which `fill` must set), then hands `body`
    /// the output `output` as `run(_:reading:_:)` does: a segment request's normalised image
    /// goes from its pixels to the model without a buffer of its own.
    package func run<R>(filling name: String, _ fill: (UnsafeMutableBufferPointer<Float>) throws -> Void, isCancelled: () -> Bool = { false },
                        reading output: String, _ body: (OutputView) throws -> R) throws -> R {
        guard let (_, slot) = inputSlots.first(where: { $0.name == name }), slot.dtype == .f32 else {
            throw ExecutionError.unknownInput(name, known: inputSlots.map(\.name))
        }
        if let other = inputSlots.first(where: { $0.name != name }) { throw ExecutionError.missingInput(other.name) }
        let arena = checkoutArena()
        defer { checkin(arena) }
        try fill(UnsafeMutableBufferPointer(start: arena.pointer(slot), count: slot.count))
        try executeSteps(in: arena, isCancelled: isCancelled, profile: nil)
        return try read(output, from: arena, body)
    }

    private func read<R>(_ name: String, from arena: Arena, _ body: (OutputView) throws -> R) throws -> R {
        if let (_, operand, _) = outputs.first(where: { $0.0 == name }), case .slot(let s) = operand, s.dtype == .f32 {
            return try body(.floats(UnsafeBufferPointer(start: arena.pointer(s), count: s.count), dims: s.dims))
        }
        guard let t = try collectOutputs(arena)[name] else {
            throw ExecutionError.unknownOutput(name, known: outputs.map(\.0))
        }
        return try body(.tensor(t))
    }

    private func execute(_ inputs: [String: Tensor], in arena: Arena, isCancelled: () -> Bool,
                         profile: ((Int, String, Double) -> Void)?) throws {
        for (name, slot) in inputSlots {
            guard let t = inputs[name] else { throw ExecutionError.missingInput(name) }
            guard t.dtype == slot.dtype, t.dims == slot.dims else {
                throw ExecutionError.inputMismatch(name: name, expected: TensorType(elementType: slot.dtype, shape: slot.dims.map { .value($0) }), actual: "\(t.dtype)\(t.shape)")
            }
            try slot.store(t, in: arena)
        }
        for (name, t) in inputs where !inputSlots.contains(where: { $0.name == name }) { arena.tensors[name] = t }
        try executeSteps(in: arena, isCancelled: isCancelled, profile: profile)
    }

    private func executeSteps(in arena: Arena, isCancelled: () -> Bool, profile: ((Int, String, Double) -> Void)?) throws {
        for (index, step) in steps.enumerated() {
            if isCancelled() { throw ExecutionError.cancelled }
            if let profile {
                let start = DispatchTime.now().uptimeNanoseconds
                try step.execute(arena)
                profile(index, step.kind, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            } else {
                try step.execute(arena)
            }
        }
    }

    private func collectOutputs(_ arena: Arena) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (name, operand, _) in outputs {
            switch operand {
            case .slot(let s):
                result[name] = try s.tensor(in: arena)
            case .tensor(let t): result[name] = arena.tensors[t]
            case .constant(let t): result[name] = t
            case .absent: break
            }
        }
        return result
    }
}

/// A model output as `CompiledModel.run(_:reading:_:)` hands it over.
package enum OutputView {
    /// f32 elements in the arena, row-major with these dims.
    case floats(UnsafeBufferPointer<Float>, dims: [Int])
    case tensor(Tensor)
}
