import Foundation
import SegKernels
import SegRewrite
import Synchronization

/// Thread pools by size, shared by every compiled model: concurrent requests on one pool
/// run inline rather than oversubscribe the cores.
enum Pools {
    private static let pools = Mutex<[Int: ThreadPool]>([:])

    static func context(threads: Int?, options: RuntimeOptions) -> KernelContext {
        guard let n = threads, n > 0, n != ThreadPool.shared.threadCount else { return options.context(pool: .shared) }
        let pool = pools.withLock { cache -> ThreadPool in
            if let p = cache[n] { return p }
            let p = ThreadPool(threadCount: n)
            cache[n] = p
            return p
        }
        return options.context(pool: pool)
    }
}

extension FastActivation {
    /// The same activation as a SegKernels epilogue, when it has one.
    var kernelActivation: Activation? {
        switch self {
        case .relu: return .relu
        case .clip(let lo, let hi): return .clip(min: lo, max: hi)
        case .hardSwish: return .hardSwish
        case .hardSigmoid(let a, let b): return .hardSigmoid(alpha: a, beta: b)
        case .sigmoid: return .sigmoid
        case .leakyRelu: return nil
        }
    }
}

extension EpilogueActivation {
    /// The SegKernels epilogue that computes it (every `EpilogueActivation` has one: that is
    /// what puts an activation on the list).
    var kernelActivation: Activation {
        switch self {
        case .relu: .relu
        case .sigmoid: .sigmoid
        case .hardSwish: .hardSwish
        case .hardSigmoid(let a, let b): .hardSigmoid(alpha: a, beta: b)
        case .clip(let lo, let hi): .clip(min: lo, max: hi)
        }
    }
}

/// A 2-D convolution with pre-packed weights and fused bias, activation and residual add.
struct ConvStep: Step {
    let conv: Conv2D
    let input: Slot
    let output: Slot
    let residual: Slot?
    let batch: Int
    let context: KernelContext
    let kind: String
    var detail: String { "\(kind) \(conv.summary)" }

    func execute(_ arena: Arena) throws {
        try conv.run(input: arena.pointer(input), batch: batch, output: arena.pointer(output),
                     residual: residual.map { UnsafePointer(arena.pointer($0)) }, residualBeforeActivation: true, context: context)
    }
}

/// A sparse dilated conv run tap by tap (`TapwiseConv`), bias and activation fused.
struct TapwiseConvStep: Step {
    let conv: TapwiseConv
    let input: Slot
    let output: Slot
    let batch: Int
    let context: KernelContext
    let kind: String
    var detail: String { "\(kind) \(conv.shape.summary)" }

    func execute(_ arena: Arena) throws {
        try conv.run(input: arena.pointer(input), batch: batch, output: arena.pointer(output), context: context)
    }
}

/// Bilinear or nearest resize of the two trailing axes of an NCHW tensor.
struct ResizeStep: Step {
    let mode: ResizeMode
    let coordinates: ResizeCoordinates
    let input: Slot
    let output: Slot
    let scales: (Float, Float)?
    let context: KernelContext
    var kind: String { "Resize" }

    func execute(_ arena: Arena) throws {
        let i = input.dims, o = output.dims
        try resize(mode, coordinates: coordinates, input: arena.pointer(input), planes: i[0] * i[1], inHeight: i[2], inWidth: i[3],
                   output: arena.pointer(output), outHeight: o[2], outWidth: o[3], scales: scales, context: context)
    }
}

/// NCHW Add/Mul with SegKernels' vectorised, threaded broadcasting (same shape, per
/// channel, per image-channel, scalar).
struct KernelBinaryStep: Step {
    let operation: BinaryOperation
    let a: Slot
    let b: Slot
    let output: Slot
    let broadcast: SegKernels.Broadcast
    let batch: Int, channels: Int, plane: Int
    let activation: Activation
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        try binary(operation, a: arena.pointer(a), b: arena.pointer(b), broadcast: broadcast, output: arena.pointer(output),
                   batch: batch, channels: channels, plane: plane, activation: activation, context: context)
    }
}

/// Global average pooling with SegKernels.
struct KernelGlobalPoolStep: Step {
    let input: Slot
    let output: Slot
    let context: KernelContext
    var kind: String { "GlobalAveragePool" }

    func execute(_ arena: Arena) throws {
        let d = input.dims
        try globalAveragePool(input: arena.pointer(input), batch: d[0], channels: d[1], height: d[2], width: d[3],
                              output: arena.pointer(output), context: context)
    }
}
