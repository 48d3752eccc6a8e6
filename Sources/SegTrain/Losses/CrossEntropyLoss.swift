import SegAutodiff

/// Pixel-wise cross-entropy on N×C×H×W logits, ignoring `ignoreIndex`, optionally weighted
/// per class, as `torch.nn.CrossEntropyLoss(weight:, ignore_index:)` computes it: the mean of
/// w[yᵢ]·(−log pᵢ[yᵢ]) over labelled pixels, divided by Σ w[yᵢ].
///
/// OHEM (PaddleSeg's `OhemCrossEntropyLoss`): only pixels whose true-class probability is
/// below `threshold` count, and at least `minKept` of the hardest ones when fewer are.
package struct CrossEntropyLoss: TrainingLoss {
    package var classWeights: [Float]?
    package var ohem: (threshold: Float, minKept: Int)?

    package init(classWeights: [Float]? = nil, ohem: (threshold: Float, minKept: Int)? = nil) {
        self.classWeights = classWeights
        self.ohem = ohem
    }

    package var name: String { ohem == nil ? "cross_entropy" : "ohem_cross_entropy" }

    package func evaluate(_ input: LossInput) throws(AutodiffError) -> LossResult {
        let logits = try input.logits()
        let labels = try input.checkedLabels(for: logits)
        let c = logits.dims[1], plane = logits.dims[2...].reduce(1, *), n = logits.dims[0]
        if let w = classWeights, w.count != c { throw .loss("\(w.count) class weights for \(c) classes") }
        let (probabilities, logSumExp) = PixelSoftmax.probabilities(logits)

        // Which labelled pixels count, and with what weight.
        var weight = [Float](repeating: 0, count: n * plane)
        for (i, y) in labels.values.enumerated() where y != labels.ignoreIndex {
            weight[i] = classWeights?[Int(y)] ?? 1
        }
        if let ohem { applyOHEM(ohem, &weight, labels: labels, probabilities: probabilities, classes: c, plane: plane) }
        let total = weight.reduce(0.0) { $0 + Double($1) }
        var gradient = probabilities
        guard total > 0 else {
            // Nothing labelled: no loss and no gradient (PyTorch would return NaN here).
            return LossResult(value: 0, gradients: [input.logitsName: FloatTensor(zeros: logits.dims)])
        }
        var loss = 0.0
        let scale = Float(1 / total)
        for b in 0..<n {
            for i in 0..<plane {
                let pixel = b * plane + i
                let w = weight[pixel]
                let base = b * c * plane + i
                if w == 0 {
                    for k in 0..<c { gradient[base + k * plane] = 0 }
                    continue
                }
                let y = Int(labels.values[pixel])
                loss += Double(w) * Double(logSumExp[pixel] - logits.scalars[base + y * plane])
                let f = w * scale
                for k in 0..<c { gradient[base + k * plane] *= f }
                gradient[base + y * plane] -= f
            }
        }
        return LossResult(value: loss / total, gradients: [input.logitsName: FloatTensor(dims: logits.dims, scalars: gradient)])
    }

    private func applyOHEM(_ ohem: (threshold: Float, minKept: Int), _ weight: inout [Float], labels: LabelBatch,
                           probabilities: [Float], classes c: Int, plane: Int) {
        var trueProbability: [(Float, Int)] = []
        for (pixel, y) in labels.values.enumerated() where weight[pixel] > 0 {
            let b = pixel / plane, i = pixel % plane
            trueProbability.append((probabilities[b * c * plane + Int(y) * plane + i], pixel))
        }
        guard !trueProbability.isEmpty else { return }
        trueProbability.sort { $0.0 < $1.0 }
        var threshold = ohem.threshold
        if ohem.minKept > 0 {
            let k = min(trueProbability.count, ohem.minKept) - 1
            threshold = max(threshold, trueProbability[k].0)
        }
        for (p, pixel) in trueProbability where p >= threshold { weight[pixel] = 0 }
        // Ties at the threshold: PaddleSeg keeps p < threshold; when minKept forced the
        // threshold up to the k-th value, keep that one too.
        if ohem.minKept > 0 {
            let k = min(trueProbability.count, ohem.minKept) - 1
            for (p, pixel) in trueProbability[...k] where p == threshold {
                weight[pixel] = classWeights?[Int(labels.values[pixel])] ?? 1
            }
        }
    }
}
