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
    /// Set when this plan runs a batch image by image through a batch-1 plan (see
    /// `BatchSeparability`): its steps, arena and weights are that plan's.
    package let perImage: CompiledModel?

    init(inputShapes: [String: [Int]], steps: [any Step], inputSlots: [(String, Slot)],
         outputs: [(String, FallbackStep.Operand, DType)], floatCount: Int, kernelCounts: [String: Int]) {
        self.inputShapes = inputShapes
        self.steps = steps
        self.inputSlots = inputSlots.map { (name: $0.0, slot: $0.1) }
        self.outputs = outputs.map { (name: $0.0, operand: $0.1, dtype: $0.2) }
        self.floatCount = floatCount
        self.arenaBytes = floatCount * 4
        self.kernelCounts = kernelCounts
        self.perImage = nil
    }

    /// A batch of `inputShapes` (every input's axis 0 the batch) run image by image on `single`.
    init(perImage single: CompiledModel, inputShapes: [String: [Int]]) {
        self.inputShapes = inputShapes
        steps = single.steps
        inputSlots = single.inputSlots
        outputs = single.outputs
        floatCount = single.floatCount
        arenaBytes = single.arenaBytes
        kernelCounts = single.kernelCounts
        perImage = single
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
        if let single = perImage { return try single.runEachImage(inputs, shapes: inputShapes, isCancelled: isCancelled, profile: profile) }
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
        if let single = perImage {
            let all = try single.runEachImage(inputs, shapes: inputShapes, isCancelled: isCancelled, profile: nil)
            guard let t = all[name] else { throw ExecutionError.unknownOutput(name, known: outputs.map(\.0)) }
            return try body(.tensor(t))
        }
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
        if perImage != nil, let dims = inputShapes[name] {
            var x = [Float](repeating: 0, count: dims.reduce(1, *))
            try x.withUnsafeMutableBufferPointer { try fill($0) }
            return try run([name: try Tensor(dims: dims, scalars: x)], isCancelled: isCancelled, reading: output, body)
        }
        let arena = checkoutArena()
        defer { checkin(arena) }
        try fill(UnsafeMutableBufferPointer(start: arena.pointer(slot), count: slot.count))
        try executeSteps(in: arena, isCancelled: isCancelled, profile: nil)
        return try read(output, from: arena, body)
    }

    /// Runs this batch-1 plan once per image of `inputs` (their shapes `shapes`, axis 0 the
    /// batch): each image's slice goes into the input slots, and each output's slice is copied
    /// from the arena straight into the batch's tensor, as `collectOutputs` copies it once.
    fileprivate func runEachImage(_ inputs: [String: Tensor], shapes: [String: [Int]], isCancelled: () -> Bool,
                                  profile: ((Int, String, Double) -> Void)?) throws -> [String: Tensor] {
        let batch = shapes.values.first?.first ?? 1
        for (name, dims) in shapes {
            guard let t = inputs[name] else { throw ExecutionError.missingInput(name) }
            let slotType = inputSlots.first(where: { $0.name == name })?.slot.dtype
            guard t.dims == dims, slotType == nil || t.dtype == slotType else {
                throw ExecutionError.inputMismatch(name: name, expected: TensorType(elementType: t.dtype, shape: dims.map { .value($0) }), actual: "\(t.dtype)\(t.shape)")
            }
        }
        // Float outputs in the arena: one buffer each for the whole batch, written image by
        // image straight from the arena (not zero-filled first: every byte is copied in).
        var slotOutputs: [(name: String, slot: Slot)] = []
        var slotBytes: [[UInt8]] = []
        for (name, operand, _) in outputs {
            if case .slot(let s) = operand, s.dtype == .f32 {
                slotOutputs.append((name, s))
                // Every byte is written below before anything reads it.
                slotBytes.append([UInt8](unsafeUninitializedCapacity: s.count * 4 * batch) { _, count in count = s.count * 4 * batch })
            }
        }
        var others: [String: (dims: [Int], dtype: DType, bytes: [UInt8])] = [:]
        for image in 0..<batch {
            let arena = checkoutArena()
            defer { checkin(arena) }
            for (name, slot) in inputSlots {
                guard let t = inputs[name] else { throw ExecutionError.missingInput(name) }
                let sliceBytes = slot.count * slot.dtype.byteSize
                t.bytes.withUnsafeBytes { raw in
                    guard let base = raw.baseAddress, raw.count >= (image + 1) * sliceBytes else { return }
                    UnsafeMutableRawPointer(arena.pointer(slot)).copyMemory(from: base + image * sliceBytes, byteCount: sliceBytes)
                }
            }
            try executeSteps(in: arena, isCancelled: isCancelled, profile: profile)
            for (k, o) in slotOutputs.enumerated() {
                let bytes = o.slot.count * 4
                slotBytes[k].withUnsafeMutableBytes { out in
                    guard let dst = out.baseAddress else { return }
                    (dst + image * bytes).copyMemory(from: UnsafeRawPointer(arena.pointer(o.slot)), byteCount: bytes)
                }
            }
            guard slotOutputs.count < outputs.count else { continue }
            let collected = try collectOutputs(arena)
            for (name, _, dtype) in outputs where !slotOutputs.contains(where: { $0.name == name }) {
                guard let one = collected[name] else { continue }
                var entry = others[name] ?? (dims: one.dims, dtype: dtype, bytes: [])
                entry.bytes.append(contentsOf: one.bytes)
                others[name] = entry
            }
        }
        var tensors: [String: Tensor] = [:]
        for (k, o) in slotOutputs.enumerated() {
            var dims = o.slot.dims
            if !dims.isEmpty { dims[0] *= batch }
            tensors[o.name] = try Tensor(dtype: .f32, shape: Shape(dims), bytes: slotBytes[k])
        }
        for (name, r) in others {
            var dims = r.dims
            if !dims.isEmpty { dims[0] *= batch }
            tensors[name] = try Tensor(dtype: r.dtype, shape: Shape(dims), bytes: r.bytes)
        }
        return tensors
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
