import SegAutodiff

/// Soft Dice on softmax probabilities (PaddleSeg's `DiceLoss`): per class
/// 1 − (2·Σ p·t + smooth) / (Σ p + Σ t + smooth) over labelled pixels of the whole batch,
/// averaged over classes; ignored pixels take no part.
package struct DiceLoss: TrainingLoss {
    package var smooth: Float

    package init(smooth: Float = 1) { self.smooth = smooth }

    package var name: String { "dice" }

    package func evaluate(_ input: LossInput) throws(AutodiffError) -> LossResult {
        let logits = try input.logits()
        let labels = try input.checkedLabels(for: logits)
        let c = logits.dims[1], plane = logits.dims[2...].reduce(1, *), n = logits.dims[0]
        let (p, _) = PixelSoftmax.probabilities(logits)
        var intersection = [Double](repeating: 0, count: c), sumP = intersection, sumT = intersection
        for b in 0..<n {
            for i in 0..<plane {
                let y = labels.values[b * plane + i]
                guard y != labels.ignoreIndex else { continue }
                for k in 0..<c {
                    let v = Double(p[(b * c + k) * plane + i])
                    sumP[k] += v
                    if Int(y) == k { intersection[k] += v; sumT[k] += 1 }
                }
            }
        }
        let s = Double(smooth)
        var loss = 0.0
        // dL/dp_k at a pixel = −(1/C)·[2t·D − (2I + s)] / D², D = ΣP + ΣT + s.
        var dp = [Double](repeating: 0, count: c), dpTrue = dp
        for k in 0..<c {
            let d = sumP[k] + sumT[k] + s
            loss += 1 - (2 * intersection[k] + s) / d
            dp[k] = (2 * intersection[k] + s) / (d * d) / Double(c)
            dpTrue[k] = dp[k] - 2 / d / Double(c)
        }
        var gradient = [Float](repeating: 0, count: logits.count)
        for b in 0..<n {
            for i in 0..<plane {
                let y = labels.values[b * plane + i]
                guard y != labels.ignoreIndex else { continue }
                // Through the softmax: dz_k = p_k (g_k − Σ_j g_j p_j).
                var dot = 0.0
                for k in 0..<c { dot += (Int(y) == k ? dpTrue[k] : dp[k]) * Double(p[(b * c + k) * plane + i]) }
                for k in 0..<c {
                    let pk = Double(p[(b * c + k) * plane + i])
                    gradient[(b * c + k) * plane + i] = Float(pk * ((Int(y) == k ? dpTrue[k] : dp[k]) - dot))
                }
            }
        }
        return LossResult(value: loss / Double(c), gradients: [input.logitsName: FloatTensor(dims: logits.dims, scalars: gradient)])
    }
}
