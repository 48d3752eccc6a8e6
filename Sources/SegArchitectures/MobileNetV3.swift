/// torchvision's MobileNetV3 feature extractor (`mobilenet_v3_large/small(dilated=True).features`),
/// Howard et al. 2019: BatchNorm eps 0.001, momentum 0.01; the last stage's depthwise convs
/// at stride 1 and dilation 2, so the features end at output stride 16.
enum MobileNetV3 {
    enum Size: Sendable { case large, small }

    /// One `InvertedResidualConfig` row, channels before the width multiplier.
    struct Block {
        var input: Int, kernel: Int, expanded: Int, out: Int, se: Bool, hardSwish: Bool, stride: Int, dilation: Int
    }

    static func blocks(_ size: Size, dilated: Bool) -> [Block] {
        let d = dilated ? 2 : 1
        typealias B = Block
        switch size {
        case .large:
            return [
                B(input: 16, kernel: 3, expanded: 16, out: 16, se: false, hardSwish: false, stride: 1, dilation: 1),
                B(input: 16, kernel: 3, expanded: 64, out: 24, se: false, hardSwish: false, stride: 2, dilation: 1),
                B(input: 24, kernel: 3, expanded: 72, out: 24, se: false, hardSwish: false, stride: 1, dilation: 1),
                B(input: 24, kernel: 5, expanded: 72, out: 40, se: true, hardSwish: false, stride: 2, dilation: 1),
                B(input: 40, kernel: 5, expanded: 120, out: 40, se: true, hardSwish: false, stride: 1, dilation: 1),
                B(input: 40, kernel: 5, expanded: 120, out: 40, se: true, hardSwish: false, stride: 1, dilation: 1),
                B(input: 40, kernel: 3, expanded: 240, out: 80, se: false, hardSwish: true, stride: 2, dilation: 1),
                B(input: 80, kernel: 3, expanded: 200, out: 80, se: false, hardSwish: true, stride: 1, dilation: 1),
                B(input: 80, kernel: 3, expanded: 184, out: 80, se: false, hardSwish: true, stride: 1, dilation: 1),
                B(input: 80, kernel: 3, expanded: 184, out: 80, se: false, hardSwish: true, stride: 1, dilation: 1),
                B(input: 80, kernel: 3, expanded: 480, out: 112, se: true, hardSwish: true, stride: 1, dilation: 1),
                B(input: 112, kernel: 3, expanded: 672, out: 112, se: true, hardSwish: true, stride: 1, dilation: 1),
                B(input: 112, kernel: 5, expanded: 672, out: 160, se: true, hardSwish: true, stride: 2, dilation: d),
                B(input: 160, kernel: 5, expanded: 960, out: 160, se: true, hardSwish: true, stride: 1, dilation: d),
                B(input: 160, kernel: 5, expanded: 960, out: 160, se: true, hardSwish: true, stride: 1, dilation: d),
            ]
        case .small:
            return [
                B(input: 16, kernel: 3, expanded: 16, out: 16, se: true, hardSwish: false, stride: 2, dilation: 1),
                B(input: 16, kernel: 3, expanded: 72, out: 24, se: false, hardSwish: false, stride: 2, dilation: 1),
                B(input: 24, kernel: 3, expanded: 88, out: 24, se: false, hardSwish: false, stride: 1, dilation: 1),
                B(input: 24, kernel: 5, expanded: 96, out: 40, se: true, hardSwish: true, stride: 2, dilation: 1),
                B(input: 40, kernel: 5, expanded: 240, out: 40, se: true, hardSwish: true, stride: 1, dilation: 1),
                B(input: 40, kernel: 5, expanded: 240, out: 40, se: true, hardSwish: true, stride: 1, dilation: 1),
                B(input: 40, kernel: 5, expanded: 120, out: 48, se: true, hardSwish: true, stride: 1, dilation: 1),
                B(input: 48, kernel: 5, expanded: 144, out: 48, se: true, hardSwish: true, stride: 1, dilation: 1),
                B(input: 48, kernel: 5, expanded: 288, out: 96, se: true, hardSwish: true, stride: 2, dilation: d),
                B(input: 96, kernel: 5, expanded: 576, out: 96, se: true, hardSwish: true, stride: 1, dilation: d),
                B(input: 96, kernel: 5, expanded: 576, out: 96, se: true, hardSwish: true, stride: 1, dilation: d),
            ]
        }
    }

    /// The features under `prefix` (`backbone`): `low` is the output of the stage that
    /// reaches output stride 8 (`stage_indices[-4]` in torchvision's segmentation builders),
    /// `high` the last 1×1 conv (6 × the last block's channels).
    static func features(_ b: NetworkBuilder, _ image: Feature, size: Size, width: Double, prefix: String) -> BackboneFeatures {
        let adjust = { (c: Int) in makeDivisible(Double(c) * width) }
        let rows = blocks(size, dilated: true)
        let bn = { (x: Feature, m: String) in b.batchNorm(x, m, epsilon: 0.001, torchMomentum: 0.01) }
        var x = b.hardSwish(bn(b.conv(image, "\(prefix).0.0", out: adjust(rows[0].input), kernel: 3, stride: 2), "\(prefix).0.1"), "\(prefix).0.2")
        // Stage starts: the first conv, then every block with stride > 1 (`_is_cn`), then the last conv.
        var stageEnds: [Int: Feature] = [0: x]
        var stageStarts = [0]
        for (i, row) in rows.enumerated() {
            let index = i + 1
            let m = "\(prefix).\(index).block"
            let input = x
            let expanded = adjust(row.expanded), out = adjust(row.out)
            let act = { (y: Feature, name: String) in row.hardSwish ? b.hardSwish(y, name) : b.relu(y, name) }
            var layer = 0
            if expanded != input.channels {
                x = act(bn(b.conv(x, "\(m).0.0", out: expanded), "\(m).0.1"), "\(m).0.2")
                layer += 1
            }
            let stride = row.dilation > 1 ? 1 : row.stride
            x = act(bn(b.conv(x, "\(m).\(layer).0", out: expanded, kernel: row.kernel, stride: stride, dilation: row.dilation,
                              groups: expanded), "\(m).\(layer).1"), "\(m).\(layer).2")
            layer += 1
            if row.se {
                x = squeezeExcitation(b, x, "\(m).\(layer)", squeeze: makeDivisible(Double(expanded / 4)))
                layer += 1
            }
            x = bn(b.conv(x, "\(m).\(layer).0", out: out), "\(m).\(layer).1")
            if row.stride == 1 && input.channels == out { x = b.add(x, input, "\(prefix).\(index)") }
            stageEnds[index] = x
            if row.stride > 1 { stageStarts.append(index) }
        }
        let last = rows.count + 1
        x = b.hardSwish(bn(b.conv(x, "\(prefix).\(last).0", out: 6 * x.channels), "\(prefix).\(last).1"), "\(prefix).\(last).2")
        stageStarts.append(last)
        let low = stageEnds[stageStarts[stageStarts.count - 4]] ?? x
        return BackboneFeatures(low: low, high: x)
    }

    /// torchvision's `SqueezeExcitation` with a Hardsigmoid gate: x · hσ(fc2(relu(fc1(avg(x))))).
    static func squeezeExcitation(_ b: NetworkBuilder, _ x: Feature, _ m: String, squeeze: Int) -> Feature {
        let pooled = b.globalAveragePool(x, "\(m).avgpool")
        let hidden = b.relu(b.conv(pooled, "\(m).fc1", out: squeeze, bias: true), "\(m).activation")
        let gate = b.hardSigmoid(b.conv(hidden, "\(m).fc2", out: x.channels, bias: true), "\(m).scale_activation")
        return b.mul(gate, x, m)
    }
}

/// What a segmentation head reads from a backbone: a stride-8 feature and the last one.
struct BackboneFeatures {
    var low: Feature
    var high: Feature
}
