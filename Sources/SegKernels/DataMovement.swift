import Foundation

// Copies, reductions and per-channel normalisations: the glue between convolutions. Each is
// memory-bound, so the aim is contiguous inner runs (memcpy or SIMD8) and splitting the outer
// loop over the pool once there is enough work to pay for waking the threads.

/// Work below this many elements runs on the calling thread.
let parallelThreshold = 1 << 15

/// output[i₀…iₙ] = input[offset + Σ iₐ·inputStrides[a]] for every index of `dims` (row-major
/// output). Covers Slice (with steps, negative too), Gather of one index, and any permutation.
/// Adjacent axes that are contiguous in the input are merged first, so a slice that keeps
/// whole rows becomes a few long copies.
package func stridedCopy(input: UnsafePointer<Float>, offset: Int, inputStrides: [Int], dims: [Int],
                        output: UnsafeMutablePointer<Float>, context: KernelContext = .shared) throws(KernelError) {
    try require(inputStrides.count == dims.count, "inputStrides", inputStrides.count, "must have one stride per axis (\(dims.count))")
    try require(dims.allSatisfy { $0 >= 0 }, "dims", dims, "must be ≥ 0")
    let total = dims.reduce(1, *)
    guard total > 0 else { return }
    // Drop unit axes, then merge axis pairs that are contiguous in the input.
    var d: [Int] = [], s: [Int] = []
    for (n, st) in zip(dims, inputStrides) where n != 1 {
        if let last = d.last, let lastStride = s.last, lastStride == st * n {
            d[d.count - 1] = last * n
            s[s.count - 1] = st
        } else {
            d.append(n)
            s.append(st)
        }
    }
    if d.isEmpty { d = [1]; s = [1] }
    let run = d[d.count - 1], runStride = s[s.count - 1]
    let rows = total / run
    let outer = Array(d.dropLast()), outerStrides = Array(s.dropLast())
    let rowsPerTask = max(1, parallelThreshold / max(run, 1))
    let tasks = total >= parallelThreshold ? (rows + rowsPerTask - 1) / rowsPerTask : 1
    context.pool.parallelFor(tasks) { range in
        let first = range.lowerBound * rowsPerTask
        let last = tasks == 1 ? rows : min(rows, range.upperBound * rowsPerTask)
        guard first < last else { return }
        // Mixed-radix counter over the outer axes, advanced row by row.
        var index = [Int](repeating: 0, count: outer.count)
        var rest = first
        var source = offset
        for a in stride(from: outer.count - 1, through: 0, by: -1) {
            index[a] = rest % outer[a]
            rest /= outer[a]
            source += index[a] * outerStrides[a]
        }
        for r in first..<last {
            let y = output + r * run
            if runStride == 1 {
                y.update(from: input + source, count: run)
            } else {
                var x = source
                for j in 0..<run { y[j] = input[x]; x += runStride }
            }
            var a = outer.count - 1
            while a >= 0 {
                index[a] += 1
                source += outerStrides[a]
                if index[a] < outer[a] { break }
                source -= outerStrides[a] * outer[a]
                index[a] = 0
                a -= 1
            }
        }
    }
}

/// Row-major strides of `dims`.
package func contiguousStrides(_ dims: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: dims.count)
    var acc = 1
    for a in stride(from: dims.count - 1, through: 0, by: -1) {
        strides[a] = acc
        acc *= dims[a]
    }
    return strides
}

package enum ReduceOperation: Sendable {
    case sum, mean, max, min
}

/// Reduces the middle axis of [outer, reduced, inner]: y[o][i] = op over r of x[o][r][i].
/// Covers every ONNX Reduce* whose reduced axes are adjacent (channel means, spatial sums,
/// the FPN's sum over a stacked axis).
package func reduce(_ operation: ReduceOperation, input: UnsafePointer<Float>, outer: Int, reduced: Int, inner: Int,
                   output: UnsafeMutablePointer<Float>, context: KernelContext = .shared) throws(KernelError) {
    for (name, value) in [("outer", outer), ("reduced", reduced), ("inner", inner)] {
        try require(value >= 1, name, value, "must be ≥ 1")
    }
    let scale: Float = operation == .mean ? 1 / Float(reduced) : 1
    if inner == 1 {
        // Contiguous rows: one horizontal reduction per output.
        let tasks = outer * reduced >= parallelThreshold ? outer : 1
        context.pool.parallelFor(tasks) { range in
            let rows = tasks == 1 ? 0..<outer : range
            for o in rows { output[o] = reduceRow(operation, input + o * reduced, reduced) * scale }
        }
        return
    }
    // Strided: accumulate whole inner rows with SIMD, parallel over (outer, inner chunks).
    let chunk = 1024
    let chunks = (inner + chunk - 1) / chunk
    let tasks = outer * reduced * inner >= parallelThreshold ? outer * chunks : 1
    context.pool.parallelFor(tasks) { range in
        let items = tasks == 1 ? 0..<(outer * chunks) : range
        for item in items {
            let o = item / chunks, c = item % chunks
            let start = c * chunk, count = min(inner, start + chunk) - start
            let y = output + o * inner + start
            let x = input + o * reduced * inner + start
            y.update(from: x, count: count)
            for r in 1..<max(reduced, 1) {
                combineRow(operation, y, x + r * inner, count)
            }
            if operation == .mean {
                for j in 0..<count { y[j] *= scale }
            }
        }
    }
}

@inline(__always)
private func reduceRow(_ operation: ReduceOperation, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var j = 0
    switch operation {
    case .sum, .mean:
        var lanes = SIMD8<Float>()
        while j + 8 <= n { lanes += load8(x + j); j += 8 }
        var s = lanes.sum()
        while j < n { s += x[j]; j += 1 }
        return s
    case .max, .min:
        guard n > 0 else { return 0 }
        var v = x[0]
        if n >= 8 {
            var lanes = load8(x)
            j = 8
            while j + 8 <= n {
                lanes = operation == .max ? max8(lanes, load8(x + j)) : min8(lanes, load8(x + j))
                j += 8
            }
            v = operation == .max ? lanes.max() : lanes.min()
        }
        while j < n { v = operation == .max ? Swift.max(v, x[j]) : Swift.min(v, x[j]); j += 1 }
        return v
    }
}

@inline(__always)
private func combineRow(_ operation: ReduceOperation, _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
    var j = 0
    while j + 8 <= n {
        let b = load8(x + j)
        let v: SIMD8<Float>
        switch operation {
        case .sum, .mean: v = load8(y + j) + b
        case .max: v = max8(load8(y + j), b)
        case .min: v = min8(load8(y + j), b)
        }
        store8(v, y + j)
        j += 8
    }
    while j < n {
        switch operation {
        case .sum, .mean: y[j] += x[j]
        case .max: y[j] = Swift.max(y[j], x[j])
        case .min: y[j] = Swift.min(y[j], x[j])
        }
        j += 1
    }
}

/// Instance normalisation over [planes, plane] (planes = N·C): y = (x − μ)/√(σ² + ε) · scale[c] +
/// bias[c], with c = plane index mod `channels`. Mean and variance in two passes (the
/// one-pass E[x²] − E[x]² loses digits on large planes with a big mean).
package func instanceNormalization(input: UnsafePointer<Float>, planes: Int, channels: Int, plane: Int, epsilon: Float,
                                  scale: UnsafePointer<Float>, bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                                  activation: Activation = .none, context: KernelContext = .shared) throws(KernelError) {
    for (name, value) in [("planes", planes), ("channels", channels), ("plane", plane)] {
        try require(value >= 1, name, value, "must be ≥ 1")
    }
    try require(planes % channels == 0, "planes", planes, "must be a multiple of channels (\(channels))")
    let tasks = planes * plane >= parallelThreshold ? planes : 1
    context.pool.parallelFor(tasks) { range in
        for p in (tasks == 1 ? 0..<planes : range) {
            let x = input + p * plane, y = output + p * plane
            let mean = reduceRow(.sum, x, plane) / Float(plane)
            var lanes = SIMD8<Float>()
            var j = 0
            let m8 = SIMD8<Float>(repeating: mean)
            while j + 8 <= plane { let d = load8(x + j) - m8; lanes += d * d; j += 8 }
            var sq = lanes.sum()
            while j < plane { let d = x[j] - mean; sq += d * d; j += 1 }
            let inv = 1 / (sq / Float(plane) + epsilon).squareRoot()
            let c = p % channels
            let a = inv * scale[c], b = bias[c] - mean * a
            affineRow(x, y, plane, a, b, activation)
        }
    }
}

/// y = activation(x · scale[c] + shift[c]) over NCHW [batch, channels, plane]: inference
/// BatchNormalization once its four vectors are folded into one scale and one shift.
package func channelAffine(input: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int,
                          scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                          activation: Activation = .none, context: KernelContext = .shared) throws(KernelError) {
    for (name, value) in [("batch", batch), ("channels", channels), ("plane", plane)] {
        try require(value >= 0, name, value, "must be ≥ 0")
    }
    let planes = batch * channels
    let tasks = planes * plane >= parallelThreshold ? planes : 1
    context.pool.parallelFor(tasks) { range in
        for p in (tasks == 1 ? 0..<planes : range) {
            let c = p % max(channels, 1)
            affineRow(input + p * plane, output + p * plane, plane, scale[c], shift[c], activation)
        }
    }
}

@inline(__always)
private func affineRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ a: Float, _ b: Float,
                       _ activation: Activation) {
    let a8 = SIMD8<Float>(repeating: a), b8 = SIMD8<Float>(repeating: b)
    var j = 0
    while j + 8 <= n { store8(load8(x + j) * a8 + b8, y + j); j += 8 }
    while j < n { y[j] = x[j] * a + b; j += 1 }
    if activation != .none { activation.apply(y, count: n) }
}

// The standard library's `pointwiseMax`/`pointwiseMin` are generic and not always specialised
// across modules (a pooling loop ran 10× slower with them); these compile to vmaxps/vminps.
@inline(__always)
func max8(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: b .> a) }

@inline(__always)
func min8(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: b .< a) }
