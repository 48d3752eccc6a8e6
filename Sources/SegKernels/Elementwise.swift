/// How the second operand `b` of a binary op lines up with `a`, seen as NCHW
/// [batch, channels, plane = H·W] (NumPy broadcasting's common cases in conv nets;
/// for `b` broadcasting the other way round, swap the operands: add and mul commute).
package enum Broadcast: Sendable, Equatable {
    /// b has a's shape.
    case none
    /// b is [1, C, 1, 1] (or [C, 1, 1]): b[c].
    case channel
    /// b is [N, C, 1, 1]: b[n·C + c]; the squeeze-excite gate.
    case imageChannel
    /// b has one element.
    case scalar
}

package enum BinaryOperation: Sendable {
    case add, multiply
}

/// out = activation(a ∘ b) with `b` broadcast per `broadcast`, `a` and `out` [batch, channels,
/// plane]. `out` may be `a` (or `b` when `broadcast == .none`) for in-place use.
/// `bActivation` is applied to b's values first: `.hardSigmoid`/`.sigmoid` with `.multiply` and
/// `.imageChannel` is the squeeze-excite `x · hardsigmoid(y)` / `x · sigmoid(y)`.
package func binary(_ operation: BinaryOperation, a: UnsafePointer<Float>, b: UnsafePointer<Float>, broadcast: Broadcast,
                   output: UnsafeMutablePointer<Float>, batch: Int, channels: Int, plane: Int,
                   bActivation: Activation = .none, activation: Activation = .none,
                   context: KernelContext = .shared) throws(KernelError) {
    for (name, value) in [("batch", batch), ("channels", channels), ("plane", plane)] {
        try require(value >= 0, name, value, "must be ≥ 0")
    }
    if broadcast == .none {
        // Flat split so one big plane still uses every thread.
        let total = batch * channels * plane
        let chunk = 4096
        context.pool.parallelFor((total + chunk - 1) / chunk) { range in
            let start = range.lowerBound * chunk, end = min(total, range.upperBound * chunk)
            row(operation, a + start, b + start, stride: 1, output + start, end - start, bActivation, activation)
        }
        return
    }
    context.pool.parallelFor(batch * channels) { range in
        for p in range {
            let bIndex = broadcast == .channel ? p % channels : broadcast == .imageChannel ? p : 0
            row(operation, a + p * plane, b + bIndex, stride: 0, output + p * plane, plane, bActivation, activation)
        }
    }
}

/// `count` outputs; b advances by `stride` (1 = elementwise, 0 = one broadcast value).
@inline(__always)
private func row(_ operation: BinaryOperation, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, stride: Int,
                 _ out: UnsafeMutablePointer<Float>, _ count: Int, _ bActivation: Activation, _ activation: Activation) {
    let bScalar = stride == 0 ? bActivation.apply(SIMD8(repeating: b[0])) : .zero
    var i = 0
    @inline(__always) func combine(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
        activation.apply(operation == .add ? x + y : x * y)
    }
    if stride == 0 && activation == .none {
        // The squeeze-excite gate and per-channel scale: no call to `apply` per vector.
        if operation == .multiply {
            while i + 8 <= count { store8(load8(a + i) * bScalar, out + i); i += 8 }
        } else {
            while i + 8 <= count { store8(load8(a + i) + bScalar, out + i); i += 8 }
        }
    }
    while i + 8 <= count {
        let y = stride == 0 ? bScalar : bActivation.apply(load8(b + i))
        store8(combine(load8(a + i), y), out + i)
        i += 8
    }
    if i < count {
        var x = SIMD8<Float>(), y = bScalar
        for l in 0..<(count - i) {
            x[l] = a[i + l]
            if stride != 0 { y[l] = b[i + l] }
        }
        if stride != 0 { y = bActivation.apply(y) }
        let v = combine(x, y)
        for l in 0..<(count - i) { out[i + l] = v[l] }
    }
}

/// Applies `activation` in place to `count` floats, split over the pool.
package func applyActivation(_ activation: Activation, to data: UnsafeMutablePointer<Float>, count: Int,
                            context: KernelContext = .shared) {
    let chunk = 4096
    context.pool.parallelFor((max(count, 0) + chunk - 1) / chunk) { range in
        let start = range.lowerBound * chunk
        activation.apply(data + start, count: min(count, range.upperBound * chunk) - start)
    }
}
