import SegReference
import SegTensor

/// Anything that runs a model: the reference executor today, the compiled runtime later.
package protocol ModelRunner: Sendable {
    func run(_ inputs: [String: Tensor], isCancelled: () -> Bool) throws -> [String: Tensor]
}

/// Its `run(_:isCancelled:)` (typed throws) satisfies the requirement as it is.
extension ReferenceExecutor: ModelRunner {}
