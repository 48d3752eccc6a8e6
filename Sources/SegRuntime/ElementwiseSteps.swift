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
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        let x = arena.pointer(a), y = arena.pointer(output)
        let n = output.count
        if let b {
            run(x, UnsafePointer(arena.pointer(b)), y, n, bCount: b.count)
        } else {
            bValues.withUnsafeBufferPointer { run(x, $0.baseAddress ?? UnsafePointer(x), y, n, bCount: bValues.count) }
        }
        activation?.apply(y, count: n)
    }

    /// y[i] = x[i] op z[i·step] over `range` (step 0: one value), with the operation and the
    /// operand order chosen once per call, so each loop is a plain vectorisable one.
    @inline(__always)
    private func apply(_ x: UnsafePointer<Float>, _ z: UnsafePointer<Float>, step: Int, _ y: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        switch (op, swapped, step) {
        case (.add, _, 0): let v = z[0]; for i in range { y[i] = x[i] + v }
        case (.mul, _, 0): let v = z[0]; for i in range { y[i] = x[i] * v }
        case (.sub, false, 0): let v = z[0]; for i in range { y[i] = x[i] - v }
        case (.sub, true, 0): let v = z[0]; for i in range { y[i] = v - x[i] }
        case (.div, false, 0): let v = z[0]; for i in range { y[i] = x[i] / v }
        case (.div, true, 0): let v = z[0]; for i in range { y[i] = v / x[i] }
        case (.add, _, _): for i in range { y[i] = x[i] + z[i] }
        case (.mul, _, _): for i in range { y[i] = x[i] * z[i] }
        case (.sub, false, _): for i in range { y[i] = x[i] - z[i] }
        case (.sub, true, _): for i in range { y[i] = z[i] - x[i] }
        case (.div, false, _): for i in range { y[i] = x[i] / z[i] }
        case (.div, true, _): for i in range { y[i] = z[i] / x[i] }
        }
    }

    /// Split over the pool: flat chunks, or (per channel) whole channel planes.
    private func run(_ x: UnsafeMutablePointer<Float>, _ z: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, bCount: Int) {
        // Tasks read shared inputs and write disjoint ranges of the output.
        nonisolated(unsafe) let (xs, zs, ys) = (UnsafePointer(x), z, y)
        switch shape {
        case .same, .scalar:
            let step = if case .same = shape { 1 } else { 0 }
            let chunk = 16384
            context.pool.parallelFor((n + chunk - 1) / chunk) { range in
                let r = (range.lowerBound * chunk)..<Swift.min(n, range.upperBound * chunk)
                apply(xs, zs, step: step, ys, r)
            }
        case .perChannel(let channels, let plane):
            let planes = n / Swift.max(plane, 1)
            context.pool.parallelFor(planes) { range in
                for p in range {
                    let bIdx = p / Swift.max(channels, 1), c = p % Swift.max(channels, 1)
                    let v = zs + (bCount == channels ? 0 : bIdx * channels) + c
                    let base = p * plane
                    apply(xs + base, v, step: 0, ys + base, 0..<plane)
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
    let context: KernelContext
    var kind: String { "Concat" }

    func execute(_ arena: Arena) throws {
        let y = arena.pointer(output)
        let outBlock = blocks.reduce(0, +)
        let sources = inputs.map { UnsafePointer($0.pointer(arena)) }
        // Tasks write their own parts of the output.
        nonisolated(unsafe) let (from, out) = (sources, y)
        let blocks = self.blocks
        if batches >= 8 {
            // Many outer indices (a concat on an inner axis): ranges of them per task.
            context.pool.parallelFor(batches) { range in
                for bIdx in range {
                    var offset = bIdx * outBlock
                    for (source, block) in zip(from, blocks) {
                        (out + offset).update(from: source + bIdx * block, count: block)
                        offset += block
                    }
                }
            }
            return
        }
        // Few outer indices with large blocks (a transformer's channel concat): the copies as
        // pieces of at most 64 KiB, so both threads copy.
        let piece = 16384
        var copies: [(from: UnsafePointer<Float>, to: Int, count: Int)] = []
        for bIdx in 0..<batches {
            var offset = bIdx * outBlock
            for (source, block) in zip(sources, blocks) {
                var done = 0
                while done < block {
                    let count = Swift.min(piece, block - done)
                    copies.append((source + bIdx * block + done, offset + done, count))
                    done += count
                }
                offset += block
            }
        }
        nonisolated(unsafe) let tasks = copies
        context.pool.parallelFor(tasks.count) { range in
            for t in range { (out + tasks[t].to).update(from: tasks[t].from, count: tasks[t].count) }
        }
    }
}
