import SegAutodiff

/// Why a training run stopped. Each names the step, file or parameter involved.
package enum TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
    case autodiff(AutodiffError)
    /// The loss became NaN or infinite at this step (1-based), in this epoch.
    case nonFiniteLoss(step: Int, epoch: Int, value: Double)
    case data(String)
    case checkpoint(String)
    case invalidConfiguration(String)
    case cancelled

    package var description: String {
        switch self {
        case .autodiff(let e): return e.description
        case .nonFiniteLoss(let step, let epoch, let value):
            return "the loss became \(value) at step \(step) (epoch \(epoch)); lower the learning rate or enable gradient clipping. The last good checkpoint is kept."
        case .data(let why): return "training data: \(why)"
        case .checkpoint(let why): return "checkpoint: \(why)"
        case .invalidConfiguration(let why): return why
        case .cancelled: return "cancelled"
        }
    }
}
