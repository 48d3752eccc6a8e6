/// Scores from a confusion matrix, defined as PaddleSeg's `metrics.py` defines them, as
/// fractions in [0, 1]. With I, P, L the per-class intersection, predicted and labelled pixel
/// counts (ignored pixels excluded):
///
/// - IoU_c = I_c / (P_c + L_c − I_c), and 0 when the union is empty; mIoU = mean over all classes.
/// - pixel accuracy = ΣI / ΣL (every non-ignored pixel counts once).
/// - class accuracy (PaddleSeg's `class_acc`, a precision) = I_c / P_c, 0 when P_c = 0.
/// - recall_c = I_c / L_c, 0 when L_c = 0; mean accuracy = mean recall over the classes that
///   occur in the labels (the FCN paper's "mean accuracy"; classes absent from the labels
///   would otherwise count as 0 and punish a model for a dataset's gaps).
/// - Dice_c = 2·I_c / (P_c + L_c), 0 when empty; mean Dice over all classes.
/// - Cohen's kappa = (p_o − p_e) / (1 − p_e) with p_o = ΣI / N, p_e = Σ(P_c·L_c) / N².
package struct SegmentationMetrics: Sendable, Equatable {
    package var miou: Double
    package var classIoU: [Double]
    package var pixelAccuracy: Double
    package var classPrecision: [Double]
    package var classRecall: [Double]
    package var meanAccuracy: Double
    package var classDice: [Double]
    package var meanDice: Double
    package var kappa: Double
    /// Non-ignored pixels scored.
    package var pixels: Int64

    package init(_ m: ConfusionMatrix) {
        let (inter, pred, lab) = m.areas
        func ratio(_ a: Int64, _ b: Int64) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
        let n = m.numClasses
        classIoU = (0..<n).map { ratio(inter[$0], pred[$0] + lab[$0] - inter[$0]) }
        miou = classIoU.reduce(0, +) / Double(n)
        let total = lab.reduce(0, +)
        let correct = inter.reduce(0, +)
        pixels = total
        pixelAccuracy = ratio(correct, total)
        classPrecision = (0..<n).map { ratio(inter[$0], pred[$0]) }
        let recall = (0..<n).map { ratio(inter[$0], lab[$0]) }
        classRecall = recall
        let present = (0..<n).filter { lab[$0] > 0 }
        meanAccuracy = present.isEmpty ? 0 : present.map { recall[$0] }.reduce(0, +) / Double(present.count)
        classDice = (0..<n).map { c -> Double in
            let sum: Int64 = pred[c] + lab[c]
            return sum == 0 ? 0 : 2 * Double(inter[c]) / Double(sum)
        }
        meanDice = classDice.reduce(0, +) / Double(n)
        if total == 0 {
            kappa = 0
        } else {
            let po = Double(correct) / Double(total)
            let pe = (0..<n).reduce(0.0) { $0 + Double(pred[$1]) * Double(lab[$1]) } / (Double(total) * Double(total))
            kappa = pe == 1 ? 1 : (po - pe) / (1 - pe)
        }
    }
}
