/// The random augmentation a `TrainingLoader` applies to every training sample, in this order:
///
/// 1. **Scale** by a factor drawn uniformly from `scaleRange` (both sides, rounded to whole
///    pixels): the image bilinearly (SegImaging's half-pixel resize), the label by nearest
///    neighbour (`NearestRule.floor`, cv2's INTER_NEAREST as PaddleSeg uses), so no class id is
///    invented.
/// 2. **Flip** horizontally with probability ½ when `horizontalFlip` (image and label together).
/// 3. **Crop** a `crop`-sized window at a uniformly random position. A scaled sample smaller
///    than the crop is padded at the bottom and right first, as torchvision's segmentation
///    reference and PaddleSeg's RandomPaddingCrop do: the image with the mean colour (exactly 0
///    after normalization), the label with the dataset's ignore index, so padding never counts
///    in the loss.
/// 4. **Colour jitter** on the cropped pixels (never the padding), torchvision `ColorJitter`
///    semantics: each enabled strength `s` draws a factor uniformly from `[max(0, 1 − s), 1 + s]`
///    and the three adjustments run in a random order. Brightness blends with black, contrast
///    with the mean grey level (ITU-R 601-2 luma) of the cropped pixels, saturation with each
///    pixel's own grey; every step is rounded to the nearest 8-bit value and clamped to 0...255,
///    as PIL's ImageEnhance works on 8-bit images.
///
/// Every random draw comes from the sample's own generator (see `SampleAugmentation`), so a
/// change of worker count or timing never changes a batch.
package struct AugmentationConfig: Sendable, Equatable {
    /// Factors for random scaling; `1...1` turns scaling off. Both bounds must be positive.
    package var scaleRange: ClosedRange<Float>
    /// Output height and width; nil keeps the (scaled) sample size, and then every sample of a
    /// batch must have the same size.
    package var crop: CropSize?
    package var horizontalFlip: Bool
    /// Jitter strengths (torchvision ColorJitter's `brightness`, `contrast`, `saturation`); 0 = off.
    package var brightness: Float
    package var contrast: Float
    package var saturation: Float

    package struct CropSize: Sendable, Equatable {
        package var height: Int
        package var width: Int

        package init(height: Int, width: Int) {
            self.height = height
            self.width = width
        }
    }

    package init(scaleRange: ClosedRange<Float> = 1...1, crop: CropSize? = nil, horizontalFlip: Bool = false,
                 brightness: Float = 0, contrast: Float = 0, saturation: Float = 0) {
        self.scaleRange = scaleRange
        self.crop = crop
        self.horizontalFlip = horizontalFlip
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
    }

    /// No augmentation: every sample as decoded.
    package static let none = AugmentationConfig()

    package var scales: Bool { scaleRange.lowerBound != 1 || scaleRange.upperBound != 1 }
    package var jitters: Bool { brightness > 0 || contrast > 0 || saturation > 0 }

    /// The first thing wrong with the configuration, named by field, or nil.
    func problem() -> String? {
        let lo = scaleRange.lowerBound, hi = scaleRange.upperBound
        if !(lo > 0) || !hi.isFinite { return "augmentation.scaleRange \(lo)...\(hi) must be positive and finite" }
        if let crop, crop.height < 1 || crop.width < 1 {
            return "augmentation.crop \(crop.height)×\(crop.width) must be at least 1×1"
        }
        for (name, s) in [("brightness", brightness), ("contrast", contrast), ("saturation", saturation)] where !(s >= 0 && s.isFinite) {
            return "augmentation.\(name) \(s) must be a finite strength ≥ 0"
        }
        return nil
    }
}

/// Network input normalization: `value = (pixel · scale − mean[c]) / std[c]` per RGB channel,
/// as `Image.normalizedCHW` computes it (ImageNet: mean 0.485/0.456/0.406, std 0.229/0.224/0.225).
package struct Normalization: Sendable, Equatable {
    package var mean: [Float]
    package var std: [Float]
    package var scale: Float

    package init(mean: [Float], std: [Float], scale: Float = 1.0 / 255.0) {
        self.mean = mean
        self.std = std
        self.scale = scale
    }

    package static let imageNet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    func problem() -> String? {
        guard mean.count == 3, std.count == 3 else {
            return "normalization needs 3 means and 3 stds (RGB), got \(mean.count) and \(std.count)"
        }
        guard std.allSatisfy({ $0 != 0 && $0.isFinite }), mean.allSatisfy(\.isFinite), scale.isFinite else {
            return "normalization mean and std must be finite, std non-zero"
        }
        return nil
    }
}
