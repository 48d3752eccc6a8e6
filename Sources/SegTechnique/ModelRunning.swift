import SegGraph
import SegTensor

/// How a technique runs a model (calibration, BN re-estimation, latency, sensitivity) without
/// building a compiler of its own: the server hands one in through `TechniqueContext.runner`,
/// with its plan cache, thread count and memory accounting, so a plugin links the graph
/// layers only and every run a technique makes is a run the daemon could have made.
///
/// `prepare` compiles lazily: the returned handle compiles one plan per distinct set of input
/// shapes on first use and reuses it, so a loop over calibration images compiles once.
public protocol ModelRunning: Sendable {
    /// A handle that runs `model` (as given: its outputs are what `run` returns).
    func prepare(_ model: Model) throws -> any PreparedModel
}

/// One model made runnable; safe to share between tasks.
public protocol PreparedModel: Sendable {
    /// Runs one set of inputs (by graph input name) and returns every graph output by name.
    /// Stops with `CancellationError` when the surrounding task is cancelled.
    func run(_ inputs: [String: Tensor]) throws -> [String: Tensor]
}

extension ModelRunning {
    /// Runs `model` once on `inputs`. Loops should `prepare` once instead.
    public func run(_ model: Model, inputs: [String: Tensor]) throws -> [String: Tensor] {
        try prepare(model).run(inputs)
    }

    /// A handle whose outputs are the model's outputs plus the intermediate tensors `names`
    /// (calibration statistics): the runtime keeps an output alive and never fuses across it,
    /// so the observed values are the unfused FP32 ones.
    public func prepare(_ model: Model, observing names: [String]) throws -> any PreparedModel {
        try prepare(model.observing(names))
    }
}

extension Model {
    /// A copy whose graph outputs also include `names` (existing outputs are kept first).
    public func observing(_ names: [String]) -> Model {
        var m = self
        let existing = Set(m.graph.outputs.map(\.name))
        for n in names where !existing.contains(n) { m.graph.outputs.append(ValueInfo(name: n, type: nil)) }
        return m
    }

    /// A copy whose graph outputs are exactly `names` (the runtime then skips everything
    /// downstream of them).
    public func cut(at names: [String]) -> Model {
        var m = self
        m.graph.outputs = names.map { ValueInfo(name: $0) }
        return m
    }
}
