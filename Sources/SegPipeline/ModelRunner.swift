import SegReference
import SegRuntime
import SegTensor

/// Anything that runs a model: the reference executor today, the compiled runtime later.
package protocol ModelRunner: Sendable {
    func run(_ inputs: [String: Tensor], isCancelled: () -> Bool) throws -> [String: Tensor]
    /// Runs and hands `body` one output, without copying it where the runner can.
    func run<R>(_ inputs: [String: Tensor], isCancelled: () -> Bool, reading output: String,
                _ body: (OutputView) throws -> R) throws -> R
    /// Runs with the model's only input, f32 of `dims`, written by `fill` (every element), and
    /// hands `body` one output: where the runner keeps an arena, `fill` writes into it.
    func run<R>(filling input: String, dims: [Int], _ fill: (UnsafeMutableBufferPointer<Float>) throws -> Void,
                isCancelled: () -> Bool, reading output: String, _ body: (OutputView) throws -> R) throws -> R
}

extension ModelRunner {
    /// Runners that keep no arena: the output as a tensor.
    package func run<R>(_ inputs: [String: Tensor], isCancelled: () -> Bool, reading output: String,
                        _ body: (OutputView) throws -> R) throws -> R {
        guard let y = try run(inputs, isCancelled: isCancelled)[output] else {
            throw PipelineError.model("the model did not produce output '\(output)'")
        }
        return try body(.tensor(y))
    }

    /// Runners that keep no arena: `fill` writes a buffer of its own, run as a tensor.
    package func run<R>(filling input: String, dims: [Int], _ fill: (UnsafeMutableBufferPointer<Float>) throws -> Void,
                        isCancelled: () -> Bool, reading output: String, _ body: (OutputView) throws -> R) throws -> R {
        var x = [Float](repeating: 0, count: dims.reduce(1, *))
        try x.withUnsafeMutableBufferPointer { try fill($0) }
        return try run([input: try Tensor(dims: dims, scalars: x)], isCancelled: isCancelled, reading: output, body)
    }
}

/// Its `run(_:isCancelled:)` (typed throws) satisfies the requirement as it is.
extension ReferenceExecutor: ModelRunner {}
