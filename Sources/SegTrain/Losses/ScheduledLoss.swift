import Foundation
import SegAutodiff

/// A loss whose weight follows training progress (`LossInput.progress`, 0 → 1): distillation
/// that guides early and hands over to the task loss late, as students trained from scratch
/// on a teacher barely better than themselves need (constant channel-wise KD from the shared
/// LRASPP cost the small student 1.4 pt val mIoU over 40 epochs).
package struct ScheduledLoss: TrainingLoss {
    package enum Decay: String, Sendable, CaseIterable {
        case constant
        /// 1 → 0 linearly over training.
        case linear
        /// 1 → 0 along half a cosine.
        case cosine
    }

    package var inner: any TrainingLoss
    package var decay: Decay

    package init(_ inner: any TrainingLoss, decay: Decay) {
        self.inner = inner
        self.decay = decay
    }

    package var name: String { decay == .constant ? inner.name : "\(inner.name)[\(decay.rawValue) decay]" }
    package var auxiliaryParameters: [String: FloatTensor] { inner.auxiliaryParameters }
    package var studentOutputs: [String] { inner.studentOutputs }

    /// The weight factor at `progress` (clamped to 0...1).
    package func factor(at progress: Double) -> Double {
        let t = min(1, max(0, progress))
        switch decay {
        case .constant: return 1
        case .linear: return 1 - t
        case .cosine: return 0.5 * (1 + cos(Double.pi * t))
        }
    }

    package func evaluate(_ input: LossInput) throws(AutodiffError) -> LossResult {
        var r = try inner.evaluate(input)
        let f = factor(at: input.progress)
        guard f != 1 else { return r }
        r.value *= f
        for (name, g) in r.gradients { r.gradients[name] = FloatTensor(dims: g.dims, scalars: g.scalars.map { $0 * Float(f) }) }
        for (name, g) in r.parameterGradients { r.parameterGradients[name] = FloatTensor(dims: g.dims, scalars: g.scalars.map { $0 * Float(f) }) }
        return r
    }
}
