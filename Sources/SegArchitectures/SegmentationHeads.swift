/// torchvision's segmentation heads, under `classifier`, initialised as PyTorch's defaults
/// (torchvision re-initialises only the backbone).
enum SegmentationHeads {
    /// `LRASPPHead(low, high, classes, inter_channels=128)` (Howard et al. 2019):
    /// relu(bn(conv(high))) · σ(conv(avg(high))), upsampled to the low feature's size;
    /// then low_classifier(low) + high_classifier(that).
    static func lraspp(_ b: NetworkBuilder, _ f: BackboneFeatures, classes: Int, inter: Int = 128) -> Feature {
        let m = "classifier"
        let cbr = b.relu(b.batchNorm(b.conv(f.high, "\(m).cbr.0", out: inter), "\(m).cbr.1"), "\(m).cbr.2")
        let pooled = b.globalAveragePool(f.high, "\(m).scale.0")
        let scale = b.sigmoid(b.conv(pooled, "\(m).scale.1", out: inter), "\(m).scale.2")
        let gated = b.mul(cbr, scale, m)
        let up = b.resizeBilinear(gated, like: f.low.name, m)
        let low = b.conv(f.low, "\(m).low_classifier", out: classes, bias: true)
        let high = b.conv(up, "\(m).high_classifier", out: classes, bias: true)
        return b.add(low, high, m)
    }

    /// `DeepLabHead(in, classes)` = ASPP(rates 12, 24, 36; 256 channels) → 3×3 conv → BN →
    /// ReLU → 1×1 conv (Chen et al. 2017). The ASPP projection's Dropout(0.5) is left out:
    /// the graph is what an eval-mode export holds, as the shared init models are.
    static func deeplab(_ b: NetworkBuilder, _ x: Feature, classes: Int, rates: [Int] = [12, 24, 36], channels: Int = 256) -> Feature {
        let m = "classifier.0"
        func cbr(_ y: Feature, _ p: String, kernel: Int = 1, dilation: Int = 1) -> Feature {
            b.relu(b.batchNorm(b.conv(y, "\(p).0", out: channels, kernel: kernel, dilation: dilation), "\(p).1"), "\(p).2")
        }
        var branches = [cbr(x, "\(m).convs.0")]
        for (i, rate) in rates.enumerated() { branches.append(cbr(x, "\(m).convs.\(i + 1)", kernel: 3, dilation: rate)) }
        let p = "\(m).convs.\(rates.count + 1)"
        let pooled = b.globalAveragePool(x, "\(p).0")
        let pooledCBR = b.relu(b.batchNorm(b.conv(pooled, "\(p).1", out: channels), "\(p).2"), "\(p).3")
        branches.append(b.resizeBilinear(pooledCBR, like: x.name, p))
        let cat = b.concat(branches, m)
        let projected = b.relu(b.batchNorm(b.conv(cat, "\(m).project.0", out: channels), "\(m).project.1"), "\(m).project.2")
        let y = b.relu(b.batchNorm(b.conv(projected, "classifier.1", out: channels, kernel: 3), "classifier.2"), "classifier.3")
        return b.conv(y, "classifier.4", out: classes, bias: true)
    }
}
