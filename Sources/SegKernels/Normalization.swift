/// LayerNormalization over rows: for each of `rows` rows of `length` contiguous floats,
///   y = (x − mean) / √(var + epsilon) · scale + bias,
/// mean and (biased) variance over the row, computed in two passes in Float (as the ONNX
/// reference does with stash_type = 1). `scale` / `bias` hold `length` values (nil: 1 / 0).
/// `y` may be `x`. Rows are split over the pool.
package func layerNormalization(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, length: Int,
                               scale: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, epsilon: Float,
                               context: KernelContext = .shared) throws(KernelError) {
    try require(rows >= 0, "rows", rows, "must be ≥ 0")
    try require(length >= 1, "length", length, "must be ≥ 1")
    let perChunk = max(1, 8_192 / length)
    context.pool.parallelFor((rows + perChunk - 1) / perChunk) { chunks in
        for r in (chunks.lowerBound * perChunk)..<min(rows, chunks.upperBound * perChunk) {
            normalizeRow(x + r * length, y + r * length, length, scale, bias, epsilon)
        }
    }
}

@inline(__always)
private func normalizeRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                          _ scale: UnsafePointer<Float>?, _ bias: UnsafePointer<Float>?, _ epsilon: Float) {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n { acc += load8(x + i); i += 8 }
    var sum = acc.sum()
    while i < n { sum += x[i]; i += 1 }
    let mean = sum / Float(n)
    let vmean = SIMD8<Float>(repeating: mean)
    acc = .zero
    i = 0
    while i + 8 <= n { let d = load8(x + i) - vmean; acc += d * d; i += 8 }
    var squares = acc.sum()
    while i < n { let d = x[i] - mean; squares += d * d; i += 1 }
    let inverse = 1 / (squares / Float(n) + epsilon).squareRoot()
    let vinv = SIMD8<Float>(repeating: inverse)
    i = 0
    while i + 8 <= n {
        var v = (load8(x + i) - vmean) * vinv
        if let scale { v *= load8(scale + i) }
        if let bias { v += load8(bias + i) }
        store8(v, y + i)
        i += 8
    }
    while i < n {
        var v = (x[i] - mean) * inverse
        if let scale { v *= scale[i] }
        if let bias { v += bias[i] }
        y[i] = v
        i += 1
    }
}
