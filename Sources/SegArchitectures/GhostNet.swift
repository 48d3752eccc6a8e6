/// GhostNet (Han et al. 2020) as its reference code and timm's `ghostnet_100` define it, without
/// the classification tail (global pool, conv_head 960→1280, classifier): conv_stem → 9 stages
/// of ghost bottlenecks → a 1×1 ConvBnAct to 960 channels. Channels rounded with
/// `_make_divisible(·, 4)`; PyTorch's default initialisation (the reference code sets none);
/// BatchNorm eps 1e-5, momentum 0.1; SE gate hard_sigmoid = relu6(x + 3) / 6.
///
/// For segmentation, as for MobileNetV3 with `dilated=True`, the stride-2 bottleneck of the
/// last resolution (stage 7, 112→160) runs at stride 1, and its depthwise convs (main path and
/// shortcut) and every depthwise conv after them (the ghost modules' cheap 3×3s) are dilated
/// by 2, so
/// `high` (the 960-channel ConvBnAct) is at output stride 16; `low` is stage 4's output
/// (40 channels, output stride 8), the feature LRASPP-MobileNetV3 takes at that stride.
/// Parameters equal the classification network's less its tail.
enum GhostNet {
    /// Per stage: (kernel, expansion, out, se ratio, stride).
    static let stages: [[(k: Int, exp: Int, c: Int, se: Double, s: Int)]] = [
        [(3, 16, 16, 0, 1)],
        [(3, 48, 24, 0, 2)],
        [(3, 72, 24, 0, 1)],
        [(5, 72, 40, 0.25, 2)],
        [(5, 120, 40, 0.25, 1)],
        [(3, 240, 80, 0, 2)],
        [(3, 200, 80, 0, 1), (3, 184, 80, 0, 1), (3, 184, 80, 0, 1), (3, 480, 112, 0.25, 1), (3, 672, 112, 0.25, 1)],
        [(5, 672, 160, 0.25, 2)],
        [(5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1), (5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1)],
    ]

    static func features(_ b: NetworkBuilder, _ image: Feature, width: Double, prefix: String) -> BackboneFeatures {
        let divisible = { (c: Int) in makeDivisible(Double(c) * width, 4) }
        var x = b.relu(b.batchNorm(b.conv(image, "\(prefix).conv_stem", out: divisible(16), kernel: 3, stride: 2), "\(prefix).bn1"),
                       "\(prefix).act1")
        var low = x
        for (s, stage) in stages.enumerated() {
            for (i, cfg) in stage.enumerated() {
                // The last stride-2 bottleneck becomes stride 1 and dilates what follows.
                x = bottleneck(b, x, "\(prefix).blocks.\(s).\(i)", mid: divisible(cfg.exp), out: divisible(cfg.c), kernel: cfg.k,
                               stride: s == 7 ? 1 : cfg.s, keepsDepthwise: cfg.s > 1, inDilation: s >= 8 ? 2 : 1,
                               dilation: s >= 7 ? 2 : 1, se: cfg.se)
            }
            if s == 4 { low = x }
        }
        let m = "\(prefix).blocks.9.0"
        x = b.relu(b.batchNorm(b.conv(x, "\(m).conv", out: divisible(960)), "\(m).bn1"), "\(m).act1")
        return BackboneFeatures(low: low, high: x)
    }

    /// `GhostModule(inp, oup, ratio=2, dw_size=3)`: a 1×1 conv to ⌈oup/2⌉ channels, a cheap
    /// depthwise 3×3 on those, concatenated (and cut to `oup`).
    static func ghostModule(_ b: NetworkBuilder, _ x: Feature, _ m: String, out: Int, relu: Bool, dilation: Int) -> Feature {
        let initial = (out + 1) / 2
        var primary = b.batchNorm(b.conv(x, "\(m).primary_conv.0", out: initial), "\(m).primary_conv.1")
        if relu { primary = b.relu(primary, "\(m).primary_conv.2") }
        var cheap = b.batchNorm(b.conv(primary, "\(m).cheap_operation.0", out: initial, kernel: 3, dilation: dilation, groups: initial), "\(m).cheap_operation.1")
        if relu { cheap = b.relu(cheap, "\(m).cheap_operation.2") }
        let joined = b.concat([primary, cheap], m)
        return joined.channels == out ? joined : b.firstChannels(joined, out, m)
    }

    /// `GhostBottleneck`: ghost (ReLU) → [depthwise + BN when strided] → [SE] → ghost (linear),
    /// plus the input or a depthwise + 1×1 shortcut when the shape changes. `inDilation`
    /// applies before the (former) stride, `dilation` from it on.
    static func bottleneck(_ b: NetworkBuilder, _ x: Feature, _ m: String, mid: Int, out: Int, kernel: Int, stride: Int,
                           keepsDepthwise: Bool, inDilation: Int, dilation: Int, se: Double) -> Feature {
        var y = ghostModule(b, x, "\(m).ghost1", out: mid, relu: true, dilation: inDilation)
        if keepsDepthwise {
            y = b.batchNorm(b.conv(y, "\(m).conv_dw", out: mid, kernel: kernel, stride: stride, dilation: dilation, groups: mid), "\(m).bn_dw")
        }
        if se > 0 {
            let pooled = b.globalAveragePool(y, "\(m).se.avg_pool")
            let reduced = b.relu(b.conv(pooled, "\(m).se.conv_reduce", out: makeDivisible(Double(mid) * se, 4), bias: true), "\(m).se.act1")
            let gate = b.hardSigmoid(b.conv(reduced, "\(m).se.conv_expand", out: mid, bias: true), "\(m).se")
            y = b.mul(y, gate, "\(m).se")
        }
        y = ghostModule(b, y, "\(m).ghost2", out: out, relu: false, dilation: dilation)
        let shortcut: Feature
        if x.channels == out && !keepsDepthwise {
            shortcut = x
        } else {
            let dw = b.batchNorm(b.conv(x, "\(m).shortcut.0", out: x.channels, kernel: kernel, stride: stride, dilation: dilation,
                                        groups: x.channels), "\(m).shortcut.1")
            shortcut = b.batchNorm(b.conv(dw, "\(m).shortcut.2", out: out), "\(m).shortcut.3")
        }
        return b.add(y, shortcut, m)
    }
}
