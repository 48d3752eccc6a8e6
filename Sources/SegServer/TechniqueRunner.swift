import SegGraph
import SegPipeline
import SegRuntime
import SegTechnique
import SegTensor

/// The `ModelRunning` the server hands to techniques: the same `CompiledRunner` (plan per
/// input-shape set, bounded cache) and `Compiler` settings that resident models use, so a
/// technique's calibration runs on exactly the kernels `model/run` would, with the request's
/// `threads`. With a ledger, the plans it compiles count against the memory budget while
/// the technique holds them.
///
/// It lives in SegServer rather than below SegTechnique because the server owns what a run
/// is charged against (thread count, memory budget); SegTechnique only names the protocol.
package struct TechniqueRunner: ModelRunning {
    package let threads: Int?
    package let ledger: PlanLedger?

    package init(threads: Int?, ledger: PlanLedger? = nil) {
        self.threads = threads
        self.ledger = ledger
    }

    package func prepare(_ model: Model) throws -> any PreparedModel {
        Prepared(runner: CompiledRunner(model: model, compiler: Compiler(threads: threads)), ledger: ledger)
    }

    /// A class so that its plans are uncharged when the technique lets go of it.
    final class Prepared: PreparedModel {
        let runner: CompiledRunner
        let ledger: PlanLedger?

        init(runner: CompiledRunner, ledger: PlanLedger?) {
            self.runner = runner
            self.ledger = ledger
        }

        deinit { ledger?.release(runner) }

        func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
            defer { ledger?.update(runner) }
            return try runner.run(inputs, isCancelled: { Task.isCancelled })
        }
    }
}
