import Foundation
import SegKernels

/// Activations the fast path knows, applied in place.
enum FastActivation: Sendable, Equatable {
    case relu
    case clip(Float, Float)
    case hardSigmoid(alpha: Float, beta: Float)
    case hardSwish
    case sigmoid
    case leakyRelu(Float)

    @inline(__always)
    func apply(_ x: Float) -> Float {
        switch self {
        case .relu: return max(x, 0)
        case .clip(let lo, let hi): return min(max(x, lo), hi)
        case .hardSigmoid(let a, let b): return min(max(a * x + b, 0), 1)
        case .hardSwish: return x * min(max(x / 6 + 0.5, 0), 1)
        case .sigmoid: return 1 / (1 + exp(-x))
        case .leakyRelu(let a): return x >= 0 ? x : a * x
        }
    }

    /// In place over `count` floats: SegKernels' vectorised activations where they exist (one
    /// set of formulas for fused epilogues and standalone steps), a scalar loop otherwise.
    func apply(_ p: UnsafeMutablePointer<Float>, count: Int) {
        if let k = kernelActivation {
            applyActivation(k, to: p, count: count)
        } else {
            for i in 0..<count { p[i] = apply(p[i]) }
        }
    }
}

/// y = act(x), elementwise.
struct ActivationStep: Step {
    let input: Slot
    let output: Slot
    let activation: FastActivation
    let kind: String

    func execute(_ arena: Arena) throws {
        let x = arena.pointer(input), y = arena.pointer(output)
        if x != y { y.update(from: x, count: output.count) }
        activation.apply(y, count: output.count)
    }
}

/// y = a ∘ b for Add/Sub/Mul/Div where b is the same shape as a, one value per channel
/// ([1, C, 1, 1] against [1, C, H, W]) or a scalar; then an optional fused activation.
struct BinaryStep: Step {
    enum Op: Sendable { case add, sub, mul, div }
    enum Shape: Sendable { case same, perChannel(channels: Int, plane: Int), scalar }
    let a: Slot
    /// The other operand: a slot, or constant values.
    let b: Slot?
    let bValues: [Float]
    let output: Slot
    let op: Op
    let shape: Shape
    /// The broadcast operand is `a` (so `b op a` must be swapped for sub/div).
    let swapped: Bool
    let activation: FastActivation?
    let kind: String

    @inline(__always)
    func combine(_ x: Float, _ y: Float) -> Float {
        let (l, r) = swapped ? (y, x) : (x, y)
        switch op {
        case .add: return l + r
        case .sub: return l - r
        case .mul: return l * r
        case .div: return l / r
        }
    }

    func execute(_ arena: Arena) throws {
        let x = arena.pointer(a), y = arena.pointer(output)
        let n = output.count
        if let b {
            try run(x, UnsafePointer(arena.pointer(b)), y, n, bCount: b.count)
        } else {
            try bValues.withUnsafeBufferPointer { try run(x, $0.baseAddress ?? UnsafePointer(x), y, n, bCount: bValues.count) }
        }
        activation?.apply(y, count: n)
    }

    private func run(_ x: UnsafeMutablePointer<Float>, _ z: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, bCount: Int) throws {
        switch shape {
        case .same:
            switch (op, swapped) {
            case (.add, _): for i in 0..<n { y[i] = x[i] + z[i] }
            case (.mul, _): for i in 0..<n { y[i] = x[i] * z[i] }
            default: for i in 0..<n { y[i] = combine(x[i], z[i]) }
            }
        case .scalar:
            let v = z[0]
            for i in 0..<n { y[i] = combine(x[i], v) }
        case .perChannel(let channels, let plane):
            let batches = n / max(channels * plane, 1)
            for bIdx in 0..<batches {
                for c in 0..<channels {
                    let v = z[(bCount == channels ? 0 : bIdx * channels) + c]
                    let base = (bIdx * channels + c) * plane
                    switch op {
                    case .mul: for i in base..<(base + plane) { y[i] = x[i] * v }
                    case .add: for i in base..<(base + plane) { y[i] = x[i] + v }
                    default: for i in base..<(base + plane) { y[i] = combine(x[i], v) }
                    }
                }
            }
        }
    }
}

/// Concat on any axis, as [outer, Σ blocks]: each input contributes its block per outer index.
/// Inputs are arena values or constants (a zero pad concatenated to the image, say).
struct ConcatStep: Step {
    let inputs: [FloatSource]
    let output: Slot
    /// Elements per outer index of each input (the product of its dims from the axis on).
    let blocks: [Int]
    let batches: Int
    var kind: String { "Concat" }

    func execute(_ arena: Arena) throws {
        let y = arena.pointer(output)
        let outBlock = blocks.reduce(0, +)
        for bIdx in 0..<batches {
            var offset = bIdx * outBlock
            for (source, block) in zip(inputs, blocks) {
                (y + offset).update(from: source.pointer(arena) + bIdx * block, count: block)
                offset += block
            }
        }
    }
}
