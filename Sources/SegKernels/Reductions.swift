/// Vector reductions for the training kernels: sums and dot products with eight-lane (×2)
/// accumulators. Scalar `+=` loops do not vectorise (floating-point addition is not
/// reassociated), and these run over every activation of a training step.

/// Σ a[i] for i in 0..<n.
package func vectorSum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
        s0 += load8(a + i)
        s1 += load8(a + i + 8)
        i += 16
    }
    var total = (s0 + s1).sum()
    while i < n { total += a[i]; i += 1 }
    return total
}

/// Σ a[i]·b[i] for i in 0..<n.
package func vectorDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
        s0 = s0.addingProduct(load8(a + i), load8(b + i))
        s1 = s1.addingProduct(load8(a + i + 8), load8(b + i + 8))
        i += 16
    }
    var total = (s0 + s1).sum()
    while i < n { total += a[i] * b[i]; i += 1 }
    return total
}

/// Σ a[i]·b[i·stride] for i in 0..<n (a strided second operand, e.g. a stride-2 conv's input).
package func vectorDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, stride: Int, _ n: Int) -> Float {
    if stride == 1 { return vectorDot(a, b, n) }
    var s = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
        let base = b + i * stride
        var v = SIMD8<Float>()
        for lane in 0..<8 { v[lane] = base[lane * stride] }
        s = s.addingProduct(load8(a + i), v)
        i += 8
    }
    var total = s.sum()
    while i < n { total += a[i] * b[i * stride]; i += 1 }
    return total
}

/// Σ (a[i] − c)² for i in 0..<n.
package func vectorSumOfSquares(_ a: UnsafePointer<Float>, centeredAt c: Float, _ n: Int) -> Float {
    let center = SIMD8<Float>(repeating: c)
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
        let d0 = load8(a + i) - center, d1 = load8(a + i + 8) - center
        s0 = s0.addingProduct(d0, d0)
        s1 = s1.addingProduct(d1, d1)
        i += 16
    }
    var total = (s0 + s1).sum()
    while i < n { let d = a[i] - c; total += d * d; i += 1 }
    return total
}
