/// Softmax over rows: y[r][i] = e^(x[r][i] − max_r) / Σ_j e^(x[r][j] − max_r), `rows` rows
/// of `length` contiguous floats (ONNX Softmax-13 on the last axis; earlier opsets flatten
/// the axes from `axis` on into the row). e^x is `fastExp` (relative error < 2e-7).
/// `y` may be `x`. Rows are split over the pool.
public func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, length: Int,
                    context: KernelContext = .shared) throws(KernelError) {
    try require(rows >= 0, "rows", rows, "must be ≥ 0")
    try require(length >= 1, "length", length, "must be ≥ 1")
    let perChunk = max(1, 16_384 / length)
    context.pool.parallelFor((rows + perChunk - 1) / perChunk) { chunks in
        for r in (chunks.lowerBound * perChunk)..<min(rows, chunks.upperBound * perChunk) {
            softmaxRow(x + r * length, y + r * length, length)
        }
    }
}

@inline(__always)
func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    var vmax = SIMD8<Float>(repeating: -.infinity)
    while i + 8 <= n { let v = load8(x + i); vmax = vmax.replacing(with: v, where: v .> vmax); i += 8 }
    var top = vmax.max()
    while i < n { top = Swift.max(top, x[i]); i += 1 }
    if top == .infinity || top.isNaN {
        // e^(∞ − ∞) is NaN in the spec's formula too: fall back to it literally.
        var sum: Float = 0
        for j in 0..<n { y[j] = expScalar(x[j] - top); sum += y[j] }
        for j in 0..<n { y[j] /= sum }
        return
    }
    let shift = SIMD8<Float>(repeating: top)
    var vsum = SIMD8<Float>()
    i = 0
    while i + 8 <= n {
        let e = fastExp(load8(x + i) - shift)
        store8(e, y + i)
        vsum += e
        i += 8
    }
    if i < n {
        var v = SIMD8<Float>(repeating: 0)
        for l in 0..<(n - i) { v[l] = x[i + l] }
        var e = fastExp(v - shift)
        for l in (n - i)..<8 { e[l] = 0 }
        for l in 0..<(n - i) { y[i + l] = e[l] }
        vsum += e
    }
    let scale = SIMD8<Float>(repeating: 1 / vsum.sum())
    i = 0
    while i + 8 <= n { store8(load8(y + i) * scale, y + i); i += 8 }
    while i < n { y[i] *= scale[0]; i += 1 }
}

@inline(__always)
func expScalar(_ x: Float) -> Float {
    x.isNaN ? x : x == -.infinity ? 0 : x == .infinity ? .infinity : fastExp(SIMD8(repeating: x))[0]
}
