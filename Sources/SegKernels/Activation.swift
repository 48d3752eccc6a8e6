/// A pointwise activation fused into kernel epilogues or applied in place.
/// Math follows the ONNX operators of the same name.
package enum Activation: Sendable, Equatable {
    /// y = x
    case none
    /// y = max(x, 0)
    case relu
    /// y = min(max(x, min), max); `Clip(0, 6)` is ReLU6.
    case clip(min: Float, max: Float)
    /// y = x · max(0, min(1, x/6 + 1/2))  (ONNX HardSwish)
    case hardSwish
    /// y = max(0, min(1, alpha·x + beta))  (ONNX HardSigmoid; defaults 0.2, 0.5)
    case hardSigmoid(alpha: Float, beta: Float)
    /// y = 1 / (1 + e^(−x)), e^x from `fastExp` (relative error < 2e-7 on its range).
    case sigmoid

    package static let relu6 = Activation.clip(min: 0, max: 6)

    /// Applies the activation to eight lanes.
    @inline(__always)
    func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        switch self {
        case .none:
            return x
        case .relu:
            return x.replacing(with: 0, where: x .< 0)
        case let .clip(low, high):
            return clamp(x, low, high)
        case .hardSwish:
            return x * clamp(x * (1 / 6) + 0.5, 0, 1)
        case let .hardSigmoid(alpha, beta):
            return clamp(x * alpha + beta, 0, 1)
        case .sigmoid:
            return 1 / (1 + fastExp(-x))
        }
    }

    /// Applies the activation to one value, bit-for-bit as lane 0 of `apply(_:)`.
    @inline(__always)
    func apply(_ x: Float) -> Float {
        apply(SIMD8(repeating: x))[0]
    }

    /// Applies the activation in place to `count` contiguous floats.
    package func apply(_ data: UnsafeMutablePointer<Float>, count: Int) {
        if self == .none { return }
        var i = 0
        while i + 8 <= count {
            let raw = UnsafeMutableRawPointer(data + i)
            raw.storeBytes(of: apply(raw.loadUnaligned(as: SIMD8<Float>.self)), as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            data[i] = apply(data[i])
            i += 1
        }
    }
}

/// e^x for eight lanes: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial,
/// 2^n built in the exponent bits. Inputs are clamped to [−87.3, 88.7] so the result stays
/// finite and normal (sigmoid of ±large saturates to 0 or 1 as it should).
@inline(__always)
func fastExp(_ input: SIMD8<Float>) -> SIMD8<Float> {
    let x = clamp(input, -87.3, 88.7)
    // Adding 1.5·2²³ rounds to an integer (ties to even) and leaves it in the low mantissa
    // bits: the SIMD `rounded` and float→int conversions would be scalarised.
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = x * 1.442_695_04 + magic
    let n = shifted - magic
    // ln2 split in a high part exact in float and a low correction (Cody–Waite).
    var r = x - n * 0.693_145_75
    r = r - n * 1.428_606_8e-6
    var p = SIMD8<Float>(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
    let bits = (integer &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
}

/// min(max(x, low), high) lane-wise, written with selects because the generic
/// `clamped(lowerBound:upperBound:)` is not vectorised by the compiler.
@inline(__always)
func clamp(_ x: SIMD8<Float>, _ low: Float, _ high: Float) -> SIMD8<Float> {
    let lower = x.replacing(with: low, where: x .< low)
    return lower.replacing(with: high, where: lower .> high)
}

/// An activation as a generic parameter, so a kernel is specialised per activation and the
/// `switch` runs once per call instead of once per vector. Each is exactly `Activation.apply`.
protocol VectorActivation {
    func callAsFunction(_ x: SIMD8<Float>) -> SIMD8<Float>
}

struct AnyVectorActivation: VectorActivation {
    let activation: Activation
    @inline(__always) func callAsFunction(_ x: SIMD8<Float>) -> SIMD8<Float> { activation.apply(x) }
}

struct IdentityVectorActivation: VectorActivation {
    @inline(__always) func callAsFunction(_ x: SIMD8<Float>) -> SIMD8<Float> { x }
}

struct ReluVectorActivation: VectorActivation {
    @inline(__always) func callAsFunction(_ x: SIMD8<Float>) -> SIMD8<Float> { Activation.relu.apply(x) }
}

struct ClipVectorActivation: VectorActivation {
    let low: Float, high: Float
    @inline(__always) func callAsFunction(_ x: SIMD8<Float>) -> SIMD8<Float> { clamp(x, low, high) }
}

struct HardSwishVectorActivation: VectorActivation {
    @inline(__always) func callAsFunction(_ x: SIMD8<Float>) -> SIMD8<Float> { Activation.hardSwish.apply(x) }
}

struct HardSigmoidVectorActivation: VectorActivation {
    let alpha: Float, beta: Float
    @inline(__always) func callAsFunction(_ x: SIMD8<Float>) -> SIMD8<Float> { clamp(x * alpha + beta, 0, 1) }
}
