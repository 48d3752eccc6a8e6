#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Elementwise arithmetic of two operands.
package enum ArithmeticOperation: Sendable, Equatable {
    case add, sub, mul, div, pow
}

/// NumPy broadcasting of two shapes (up to any rank), reduced for the loops: unit output
/// axes dropped, then neighbouring axes merged while both operands stay contiguous (or
/// broadcast) across them. [1, N, C] + [C] becomes rows of C with b re-read each row;
/// [1, H, N, N] · [] becomes one run with a broadcast scalar.
package struct BroadcastShape: Sendable, Equatable {
    package let outputDims: [Int]
    let extents: [Int]
    let aStrides: [Int]
    let bStrides: [Int]

    package init(a aDims: [Int], b bDims: [Int]) throws(KernelError) {
        let rank = max(aDims.count, bDims.count)
        let pa = [Int](repeating: 1, count: rank - aDims.count) + aDims
        let pb = [Int](repeating: 1, count: rank - bDims.count) + bDims
        var out: [Int] = []
        for (x, y) in zip(pa, pb) {
            try require(x == y || x == 1 || y == 1, "shapes", "\(aDims) vs \(bDims)", "must broadcast")
            out.append(x == 1 ? y : x)
        }
        outputDims = out
        func strides(_ d: [Int]) -> [Int] {
            var s = [Int](repeating: 0, count: rank), run = 1
            for i in stride(from: rank - 1, through: 0, by: -1) {
                s[i] = d[i] == 1 ? 0 : run
                run *= d[i]
            }
            return s
        }
        let sa = strides(pa), sb = strides(pb)
        var ext: [Int] = [], ea: [Int] = [], eb: [Int] = []
        for i in 0..<rank where out[i] != 1 {
            if let e = ext.last, let la = ea.last, let lb = eb.last,
               la == sa[i] * out[i], lb == sb[i] * out[i] {
                ext[ext.count - 1] = e * out[i]
                ea[ea.count - 1] = sa[i]
                eb[eb.count - 1] = sb[i]
            } else {
                ext.append(out[i]); ea.append(sa[i]); eb.append(sb[i])
            }
        }
        if ext.isEmpty { (ext, ea, eb) = ([1], [0], [0]) }
        extents = ext
        aStrides = ea
        bStrides = eb
    }

    /// Whether b is one value broadcast over everything.
    var bIsScalar: Bool { bStrides.allSatisfy { $0 == 0 } }
}

/// out = activation(a ∘ b) with NumPy broadcasting per `shape`; `out` is `shape.outputDims`
/// and may be a (or b) when that operand has the output's shape. Vectorised over the
/// innermost merged axis; rows split over the pool. Pow is `powf` per element, except a
/// broadcast exponent of 2, which is x·x.
package func broadcastBinary(_ operation: ArithmeticOperation, _ shape: BroadcastShape, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                            output: UnsafeMutablePointer<Float>, activation: Activation = .none, context: KernelContext = .shared) {
    switch operation {
    case .add: broadcastRows(AddKernel.self, shape, a, b, output, activation, context)
    case .sub: broadcastRows(SubKernel.self, shape, a, b, output, activation, context)
    case .mul: broadcastRows(MulKernel.self, shape, a, b, output, activation, context)
    case .div: broadcastRows(DivKernel.self, shape, a, b, output, activation, context)
    case .pow:
        if shape.bIsScalar && b[0] == 2 {
            broadcastRows(SquareKernel.self, shape, a, b, output, activation, context)
        } else {
            broadcastRows(PowKernel.self, shape, a, b, output, activation, context)
        }
    }
}

protocol ArithmeticKernel {
    static func apply(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float>
    static func apply(_ x: Float, _ y: Float) -> Float
}

enum AddKernel: ArithmeticKernel {
    @inline(__always) static func apply(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> { x + y }
    @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x + y }
}

enum SubKernel: ArithmeticKernel {
    @inline(__always) static func apply(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> { x - y }
    @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x - y }
}

enum MulKernel: ArithmeticKernel {
    @inline(__always) static func apply(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> { x * y }
    @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x * y }
}

enum DivKernel: ArithmeticKernel {
    @inline(__always) static func apply(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> { x / y }
    @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x / y }
}

enum SquareKernel: ArithmeticKernel {
    @inline(__always) static func apply(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> { x * x }
    @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x * x }
}

enum PowKernel: ArithmeticKernel {
    @inline(__always) static func apply(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
        var r = SIMD8<Float>()
        for l in 0..<8 { r[l] = powf(x[l], y[l]) }
        return r
    }
    @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { powf(x, y) }
}

private func broadcastRows<K: ArithmeticKernel>(_ kernel: K.Type, _ shape: BroadcastShape, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                                _ out: UnsafeMutablePointer<Float>, _ activation: Activation, _ context: KernelContext) {
    let r = shape.extents.count
    let inner = shape.extents[r - 1], sa = shape.aStrides[r - 1], sb = shape.bStrides[r - 1]
    let outer = Array(shape.extents.dropLast()), outerA = Array(shape.aStrides.dropLast()), outerB = Array(shape.bStrides.dropLast())
    let rows = outer.reduce(1, *)
    if rows == 0 || inner == 0 { return }
    let perChunk = max(1, 8192 / inner)
    context.pool.parallelFor((rows + perChunk - 1) / perChunk) { chunks in
        for row in (chunks.lowerBound * perChunk)..<min(rows, chunks.upperBound * perChunk) {
            var rest = row, oa = 0, ob = 0
            for d in stride(from: outer.count - 1, through: 0, by: -1) {
                let v = rest % outer[d]
                rest /= outer[d]
                oa += v * outerA[d]
                ob += v * outerB[d]
            }
            let y = out + row * inner
            arithmeticRow(K.self, a + oa, sa, b + ob, sb, y, inner)
            activation.apply(y, count: inner)
        }
    }
}

/// `n` outputs; each operand advances by its stride, 1 (elementwise) or 0 (broadcast).
@inline(__always)
func arithmeticRow<K: ArithmeticKernel>(_ kernel: K.Type, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                                        _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    switch (sa, sb) {
    case (1, 1):
        while i + 8 <= n { store8(K.apply(load8(a + i), load8(b + i)), y + i); i += 8 }
        while i < n { y[i] = K.apply(a[i], b[i]); i += 1 }
    case (1, _):
        let v = SIMD8<Float>(repeating: b[0])
        while i + 8 <= n { store8(K.apply(load8(a + i), v), y + i); i += 8 }
        while i < n { y[i] = K.apply(a[i], b[0]); i += 1 }
    case (_, 1):
        let v = SIMD8<Float>(repeating: a[0])
        while i + 8 <= n { store8(K.apply(v, load8(b + i)), y + i); i += 8 }
        while i < n { y[i] = K.apply(a[0], b[i]); i += 1 }
    default:
        let v = K.apply(a[0], b[0])
        (y).update(repeating: v, count: n)
    }
}
