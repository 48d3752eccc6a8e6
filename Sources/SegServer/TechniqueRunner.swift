import SegGraph
import SegPipeline
import SegRuntime
import SegTechnique
import SegTensor

/// The `ModelRunning` the server hands to techniques: the same `CompiledRunner` (plan per
/// input-shape set, bounded cache) and `Compiler` settings that resident models use, so a
/// technique's calibration runs on exactly the kernels `model/run` would, with the request's
/// `threads`.
///
/// It lives in SegServer rather than below SegTechnique because the server owns what a run
/// is charged against (thread count, memory budget); SegTechnique only names the protocol.
package struct TechniqueRunner: ModelRunning {
    package let threads: Int?

    package init(threads: Int?) {
        self.threads = threads
    }

    package func prepare(_ model: Model) throws -> any PreparedModel {
        Prepared(runner: CompiledRunner(model: model, compiler: Compiler(threads: threads)))
    }

    struct Prepared: PreparedModel {
        let runner: CompiledRunner

        func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
            try runner.run(inputs, isCancelled: { Task.isCancelled })
        }
    }
}
