import Foundation
import SegTensor

/// How a layer's weights start, as PyTorch and torchvision set them (all seeded).
///
/// - `kaimingFanOut`: torchvision's MobileNetV3 loop: conv W ~ N(0, √(2 / fan_out)) with
///   fan_out = out_channels·kh·kw (groups not divided out, as `torch.nn.init` counts it);
///   conv biases 0.
/// - `pytorchDefault`: what `nn.Conv2d.reset_parameters` does when no model code overrides it
///   (torchvision's segmentation heads, ShuffleNetV2, GhostNet): W ~ U(−b, b) with
///   b = 1/√fan_in (kaiming_uniform with a = √5), bias ~ U(−1/√fan_in, 1/√fan_in);
///   fan_in = in_channels/groups·kh·kw.
///
/// BatchNorm is γ = 1, β = 0, running mean 0, running variance 1 under both.
package enum ParameterInit: Sendable, Equatable {
    case kaimingFanOut
    case pytorchDefault
}

/// Gaussian and uniform draws from SplitMix64 (no system randomness): the same seed gives the
/// same bytes with the same libm. Box–Muller's `log`/`sin`/`cos` run in Double and are rounded
/// to Float, so another libm could change a weight only where a Double result lies within an
/// ulp of a Float rounding boundary.
struct ParameterRandom {
    private var generator: SeededGenerator
    private var spare: Double?

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func unit() -> Double { Double(generator.next() >> 11) * 0x1p-53 }

    /// Standard normal (Box–Muller, both values used).
    mutating func normal() -> Double {
        if let s = spare { spare = nil; return s }
        var u1 = unit()
        while u1 <= 0 { u1 = unit() }
        let u2 = unit()
        let r = (-2 * Foundation.log(u1)).squareRoot()
        spare = r * Foundation.sin(2 * Double.pi * u2)
        return r * Foundation.cos(2 * Double.pi * u2)
    }

    mutating func normals(_ count: Int, std: Double) -> [Float] {
        (0..<count).map { _ in Float(normal() * std) }
    }

    mutating func uniforms(_ count: Int, bound: Double) -> [Float] {
        (0..<count).map { _ in Float((unit() * 2 - 1) * bound) }
    }
}
