import Dispatch
import SegGraph
import SegReference
import SegRuntime
import SegTensor
import Synchronization

/// Runs a model on the compiled runtime, compiling once per distinct set of input shapes
/// (a segmentation model usually sees one) and reusing the plan afterwards.
package final class CompiledRunner: ModelRunner, Sendable {
    package let model: Model
    let compiler: Compiler
    private let plans = Mutex<[[String: [Int]]: Cached]>([:])
    private struct Cached { let plan: CompiledModel; let compileMs: Double }
    /// Distinct shapes kept; a model fed ever-changing sizes does not grow without bound.
    static let maxPlans = 8

    package init(model: Model, compiler: Compiler = Compiler()) {
        self.model = model
        self.compiler = compiler
    }

    /// Bytes the cached plans keep resident (weights packed at compile time, one arena each):
    /// what the server charges on top of a model's initializers.
    package var planBytes: Int {
        plans.withLock { $0.values.reduce(0) { $0 + $1.plan.residentBytes } }
    }

    /// The plan for these shapes, compiling it if needed.
    package func plan(for shapes: [String: [Int]]) throws -> CompiledModel {
        if let p = plans.withLock({ $0[shapes] }) { return p.plan }
        let start = DispatchTime.now().uptimeNanoseconds
        let p = try compiler.compile(model, inputShapes: shapes)
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        plans.withLock { cache in
            if cache.count >= Self.maxPlans, let victim = cache.keys.first { cache[victim] = nil }
            cache[shapes] = Cached(plan: p, compileMs: ms)
        }
        return p
    }

    /// The kept plan for these shapes, if one is compiled, with what compiling it took.
    package func cachedPlan(for shapes: [String: [Int]]) -> (plan: CompiledModel, compileMs: Double)? {
        plans.withLock { $0[shapes].map { ($0.plan, $0.compileMs) } }
    }

    /// Whether this runner's plans use the shared pool (one thread per core).
    package var usesSharedPool: Bool { compiler.threads == nil }

    /// Whether a plan for these shapes is compiled and kept.
    package func hasPlan(for shapes: [String: [Int]]) -> Bool {
        plans.withLock { $0[shapes] != nil }
    }

    /// Drops the plan for these shapes (one compiled only to learn its memory, for a request
    /// that was then refused), so it is no longer charged.
    package func discardPlan(for shapes: [String: [Int]]) {
        plans.withLock { _ = $0.removeValue(forKey: shapes) }
    }

    package func run<R>(_ inputs: [String: Tensor], isCancelled: () -> Bool, reading output: String,
                        _ body: (OutputView) throws -> R) throws -> R {
        try plan(for: inputs).run(inputs, isCancelled: isCancelled, reading: output, body)
    }

    package func run<R>(filling input: String, dims: [Int], _ fill: (UnsafeMutableBufferPointer<Float>) throws -> Void,
                        isCancelled: () -> Bool, reading output: String, _ body: (OutputView) throws -> R) throws -> R {
        try ReferenceExecutor.validate(name: input, dtype: .f32, dims: dims, for: model.graph)
        return try plan(for: [input: dims]).run(filling: input, fill, isCancelled: isCancelled, reading: output, body)
    }

    package func run(_ inputs: [String: Tensor], isCancelled: () -> Bool) throws -> [String: Tensor] {
        try plan(for: inputs).run(inputs, isCancelled: isCancelled)
    }

    /// The plan for these inputs, after checking them against the graph.
    private func plan(for inputs: [String: Tensor]) throws -> CompiledModel {
        try ReferenceExecutor.validate(inputs, for: model.graph)
        return try plan(for: inputs.filter { $0.value.dtype == .f32 }.mapValues(\.dims))
    }
}
