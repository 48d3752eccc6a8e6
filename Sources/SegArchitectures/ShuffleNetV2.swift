/// torchvision's ShuffleNetV2 (Ma et al. 2018) without its classifier: conv1 → maxpool →
/// stage2..4 → conv5 (1×1 to 1024 channels), PyTorch's default initialisation (torchvision
/// sets none), BatchNorm eps 1e-5, momentum 0.1.
///
/// For segmentation, stage4 runs at stride 1 with its depthwise convs dilated by 2 (as
/// torchvision's `replace_stride_with_dilation` does for ResNets and `dilated=True` for
/// MobileNetV3), so `high` (conv5) is at output stride 16; `low` is stage2's output at
/// output stride 8. Parameters equal the classification backbone's, fc excluded.
enum ShuffleNetV2 {
    static let repeats = [4, 8, 4]

    static func stageChannels(width: Double) -> [Int] {
        width == 0.5 ? [24, 48, 96, 192, 1024] : [24, 116, 232, 464, 1024]
    }

    static func features(_ b: NetworkBuilder, _ image: Feature, width: Double, prefix: String) -> BackboneFeatures {
        let channels = stageChannels(width: width)
        var x = b.relu(b.batchNorm(b.conv(image, "\(prefix).conv1.0", out: channels[0], kernel: 3, stride: 2), "\(prefix).conv1.1"),
                       "\(prefix).conv1.2")
        x = b.maxPool(x, "\(prefix).maxpool", kernel: 3, stride: 2, pad: 1)
        var low = x
        for (s, count) in repeats.enumerated() {
            let dilated = s == 2
            for i in 0..<count {
                x = unit(b, x, "\(prefix).stage\(s + 2).\(i)", out: channels[s + 1], stride: i == 0 && !dilated ? 2 : 1,
                         dilation: dilated ? 2 : 1, downsamples: i == 0)
            }
            if s == 0 { low = x }
        }
        x = b.relu(b.batchNorm(b.conv(x, "\(prefix).conv5.0", out: channels[4]), "\(prefix).conv5.1"), "\(prefix).conv5.2")
        return BackboneFeatures(low: low, high: x)
    }

    /// `InvertedResidual(inp, oup, stride)`: the first unit of a stage has two branches over
    /// the whole input; the others split the channels in half and transform one half. Both
    /// concatenate and shuffle. `downsamples` marks the two-branch unit (stride 2, or the
    /// dilated stage's first unit, which keeps the structure at stride 1).
    static func unit(_ b: NetworkBuilder, _ x: Feature, _ m: String, out: Int, stride: Int, dilation: Int, downsamples: Bool) -> Feature {
        let half = out / 2
        func branch2(_ y: Feature) -> Feature {
            var y = b.relu(b.batchNorm(b.conv(y, "\(m).branch2.0", out: half), "\(m).branch2.1"), "\(m).branch2.2")
            y = b.batchNorm(b.conv(y, "\(m).branch2.3", out: half, kernel: 3, stride: stride, dilation: dilation, groups: half),
                            "\(m).branch2.4")
            return b.relu(b.batchNorm(b.conv(y, "\(m).branch2.5", out: half), "\(m).branch2.6"), "\(m).branch2.7")
        }
        let joined: Feature
        if downsamples {
            var left = b.batchNorm(b.conv(x, "\(m).branch1.0", out: x.channels, kernel: 3, stride: stride, dilation: dilation,
                                          groups: x.channels), "\(m).branch1.1")
            left = b.relu(b.batchNorm(b.conv(left, "\(m).branch1.2", out: half), "\(m).branch1.3"), "\(m).branch1.4")
            joined = b.concat([left, branch2(x)], m)
        } else {
            let (kept, transformed) = b.halves(x, m)
            joined = b.concat([kept, branch2(transformed)], m)
        }
        return b.channelShuffle(joined, m)
    }
}
