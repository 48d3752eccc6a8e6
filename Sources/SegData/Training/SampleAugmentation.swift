import SegTensor

/// The random choices for one sample in one epoch, drawn from a generator seeded by
/// (loader seed, epoch, sample index) alone: which worker decodes the sample, and when, cannot
/// change them. Every draw is made whether or not its augmentation is enabled, so turning one
/// augmentation on or off leaves the others' choices as they were.
package struct SampleAugmentation: Sendable, Equatable {
    package enum Jitter: Sendable, Equatable { case brightness, contrast, saturation }

    /// Factor for both sides (1 = unchanged).
    package var scale: Float
    package var flip: Bool
    /// Raw draws for the crop origin; `cropOrigin` maps them onto the room a sample leaves.
    package var cropDraw: (y: UInt64, x: UInt64)
    /// Blend factors (1 = unchanged) and the order they apply in.
    package var brightness: Float
    package var contrast: Float
    package var saturation: Float
    package var jitterOrder: [Jitter]

    package init(config: AugmentationConfig, seed: UInt64, epoch: Int, sampleIndex: Int) {
        var rng = SeededGenerator(seed: Self.derive(seed, 1, UInt64(bitPattern: Int64(epoch)), UInt64(sampleIndex)))
        let lo = config.scaleRange.lowerBound, hi = config.scaleRange.upperBound
        let u = Self.unit(&rng)
        scale = config.scales ? lo + (hi - lo) * u : 1
        flip = config.horizontalFlip && Self.unit(&rng) < 0.5
        cropDraw = (rng.next(), rng.next())
        func factor(_ strength: Float) -> Float {
            let u = Self.unit(&rng)
            guard strength > 0 else { return 1 }
            let lo = max(0, 1 - strength)
            return lo + (1 + strength - lo) * u
        }
        brightness = factor(config.brightness)
        contrast = factor(config.contrast)
        saturation = factor(config.saturation)
        var order: [Jitter] = [.brightness, .contrast, .saturation]
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.int(i + 1)) }
        jitterOrder = order
    }

    /// Top-left corner of a `crop` window in a `height × width` sample (after padding it up to
    /// the crop): uniform over every position that keeps the window inside.
    package func cropOrigin(height: Int, width: Int, crop: AugmentationConfig.CropSize) -> (y: Int, x: Int) {
        let roomY = max(height, crop.height) - crop.height, roomX = max(width, crop.width) - crop.width
        return (Int(cropDraw.y % UInt64(roomY + 1)), Int(cropDraw.x % UInt64(roomX + 1)))
    }

    /// A uniform Float in [0, 1) from the top 24 bits (every value exactly representable).
    static func unit(_ rng: inout SeededGenerator) -> Float {
        Float(rng.next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A 64-bit seed from several parts. Each step is a bijection of the part for a fixed
    /// prefix (SplitMix64's output function is invertible), so distinct tuples of equal length
    /// never collide; the leading tag keeps the shuffle's and the samples' streams apart.
    package static func derive(_ parts: UInt64...) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for p in parts {
            var g = SeededGenerator(seed: h ^ p)
            h = g.next()
        }
        return h
    }

    package static func == (a: Self, b: Self) -> Bool {
        a.scale == b.scale && a.flip == b.flip && a.cropDraw == b.cropDraw && a.brightness == b.brightness
            && a.contrast == b.contrast && a.saturation == b.saturation && a.jitterOrder == b.jitterOrder
    }
}
