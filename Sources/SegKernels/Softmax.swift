/// Softmax over rows: y[r][i] = e^(x[r][i] − max_r) / Σ_j e^(x[r][j] − max_r), `rows` rows
/// of `length` contiguous floats (ONNX Softmax-13 on the last axis; earlier opsets flatten
/// the axes from `axis` on into the row). e^x is `fastExp` (relative error < 2e-7).
/// `y` may be `x`. Rows are split over the pool.
package func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, length: Int,
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
    var top = horizontalMax(vmax)
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
        let e = fusedExp(load8(x + i) - shift)
        store8(e, y + i)
        vsum += e
        i += 8
    }
    if i < n {
        var v = SIMD8<Float>(repeating: 0)
        for l in 0..<(n - i) { v[l] = x[i + l] }
        var e = fusedExp(v - shift)
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

@inline(__always)
private func horizontalMax(_ v: SIMD8<Float>) -> Float {
    let a = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
    let b = a.lowHalf.replacing(with: a.highHalf, where: a.highHalf .> a.lowHalf)
    return Swift.max(b[0], b[1])
}

/// `fastExp` with its multiply-adds fused (one rounding each, fewer instructions): the same
/// range reduction and polynomial, within the same error bound.
@inline(__always)
func fusedExp(_ input: SIMD8<Float>) -> SIMD8<Float> {
    let x = clamp(input, -87.3, 88.7)
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = magic.addingProduct(x, 1.442_695_04)
    let n = shifted - magic
    var r = x.addingProduct(n, -0.693_145_75)
    r = r.addingProduct(n, -1.428_606_8e-6)
    var p = SIMD8<Float>(repeating: 1.0 / 120).addingProduct(r, 1.0 / 720)
    p = SIMD8(repeating: 1.0 / 24).addingProduct(p, r)
    p = SIMD8(repeating: 1.0 / 6).addingProduct(p, r)
    p = SIMD8(repeating: 0.5).addingProduct(p, r)
    p = SIMD8(repeating: 1).addingProduct(p, r)
    p = SIMD8(repeating: 1).addingProduct(p, r)
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
    let bits = (integer &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
}
