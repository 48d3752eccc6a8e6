import SegGraph
import SegKernels
import SegReference
import SegRewrite
import SegTensor

/// Turns a model + concrete input shapes into a `CompiledModel`.
package struct Compiler: Sendable {
    package var registry: OperatorRegistry = .standard
    /// Use fast kernels where available (off: every node falls back, for checking).
    package var fastKernels = true
    /// Intra-op threads (nil: one per core, the shared pool).
    package var threads: Int?
    /// Every run-time switch (INT8 on/off, GEMM path, ISA, kernel algorithms); by default this
    /// process's `SEGSLIM_*` environment, read once.
    package var options: RuntimeOptions
    /// Run QDQ patterns (DequantizeLinear → op → QuantizeLinear) on INT8 kernels, keeping
    /// activations u8 between them; off: Q/DQ run as float steps around float kernels.
    package var int8: Bool {
        get { options.int8 }
        set { options.int8 = newValue }
    }
    /// Forces the INT8 GEMM summation path for every layer (nil: per layer, `.maddubs` only where
    /// it provably cannot saturate); forcing `.maddubs` on weights that can saturate changes
    /// results and exists to measure its speed.
    package var qgemmPath: QGemmPath? {
        get { options.qgemmPath }
        set { options.qgemmPath = newValue }
    }

    /// `int8` and `qgemmPath`, where given, override those of `options`.
    package init(fastKernels: Bool = true, threads: Int? = nil, int8: Bool? = nil, qgemmPath: QGemmPath? = nil,
                options: RuntimeOptions = .process) {
        self.fastKernels = fastKernels
        self.threads = threads
        self.options = options
        if let int8 { self.options.int8 = int8 }
        if let qgemmPath { self.options.qgemmPath = qgemmPath }
    }

    package func compile(_ model: Model, inputShapes: [String: [Int]]) throws -> CompiledModel {
        // The fused ops of SegRewrite (ai.segslim) are known here, for the rewritten copy below.
        let registry = FusedOperators.registry(self.registry)
        if let single = try perImagePlan(model, inputShapes: inputShapes, registry: registry) { return single }
        // Clean-up that changes nothing but rounding (biases and BN folded into convs, as ORT
        // folds them); with the input shapes fixed, shape subgraphs fold.
        let (m, _) = try RewriteManager([EliminateIdentity(), FoldConstants(inputShapes: inputShapes, maxElements: 1 << 22), FoldConvBiasAdd(),
                                         FoldBatchNorm(), EliminateDeadNodes()]).run(model)
        let inference = try ShapeInference(model: m, registry: registry, inputShapes: inputShapes)
        let order = try m.graph.topologicalOrder()
        var builder = PlanBuilder(model: m, nodes: order.map { m.graph.nodes[$0] }, inference: inference,
                                  registry: registry, fastKernels: fastKernels, context: Pools.context(threads: threads, options: options))
        builder.int8 = int8
        builder.qgemmPath = qgemmPath
        if int8 { builder.quantized = QuantizedConstant.collect(model) }
        guard fastKernels else { return try builder.build(inputShapes: inputShapes) }

        // Fusion as rewrites of this private copy (never the caller's model): Conv + residual
        // Add + activation become FusedConv nodes, which the kernel table runs on `ConvStep`.
        let int8Plan = int8 ? Int8Plan(builder) : nil
        let (fused, counts) = try RuntimeFusion.rewrites(try RuntimeFusion.facts(builder, int8Plan: int8Plan)).run(m)
        if counts.allSatisfy({ $0.count == 0 }) {
            builder.int8Plan = int8Plan
            return try builder.build(inputShapes: inputShapes)
        }
        let fusedOrder = try fused.graph.topologicalOrder()
        var final = PlanBuilder(model: fused, nodes: fusedOrder.map { fused.graph.nodes[$0] }, inference: inference,
                                registry: registry, fastKernels: fastKernels, context: builder.context)
        final.int8 = int8
        final.qgemmPath = qgemmPath
        final.quantized = builder.quantized
        final.int8Plan = int8Plan?.reindexed(from: builder.nodes, to: final.nodes)
        return try final.build(inputShapes: inputShapes)
    }

    /// A batch plan that runs image by image on the batch-1 plan, when options allow it, every
    /// runtime input is batched alike, the model keeps samples apart and one image's arena is
    /// large enough that a batch's activations would leave the cache; nil otherwise.
    private func perImagePlan(_ model: Model, inputShapes: [String: [Int]], registry: OperatorRegistry) throws -> CompiledModel? {
        guard fastKernels, options.batchPerImage, let batch = inputShapes.values.first?.first, batch > 1,
              inputShapes.values.allSatisfy({ $0.first == batch }),
              model.graph.runtimeInputs.allSatisfy({ inputShapes[$0.name] != nil }) else { return nil }
        let single = inputShapes.mapValues { [1] + $0.dropFirst() }
        // Shapes the model cannot take are the batched compile's to report.
        guard let batched = try? ShapeInference(model: model, registry: registry, inputShapes: inputShapes),
              let one = try? ShapeInference(model: model, registry: registry, inputShapes: single),
              BatchSeparability.holds(model, batched: batched, single: one, batch: batch) else { return nil }
        // The arena holds at most every float value of one image at once: when even that sum is
        // below the threshold, skip compiling a batch-1 plan that would only be thrown away.
        let valueBytes = model.graph.nodes.lazy.flatMap(\.outputs).reduce(0) { sum, name in
            guard let type = one.types[name], type.elementType == .f32, one.constants[name] == nil,
                  let dims = type.shape?.compactMap({ d -> Int? in if case .value(let v) = d { return v } else { return nil } }),
                  dims.count == type.shape?.count else { return sum }
            return sum + dims.reduce(4, *)
        }
        guard valueBytes >= options.perImageMinArenaBytes else { return nil }
        var inner = self
        inner.options.batchPerImage = false
        let plan = try inner.compile(model, inputShapes: single)
        // Every runtime input goes through an f32 input slot, where each image's slice is copied.
        guard plan.arenaBytes >= options.perImageMinArenaBytes, plan.inputSlots.allSatisfy({ $0.slot.dtype == .f32 }),
              model.graph.runtimeInputs.allSatisfy({ input in plan.inputSlots.contains { $0.name == input.name } }) else { return nil }
        return CompiledModel(perImage: plan, inputShapes: inputShapes)
    }
}
