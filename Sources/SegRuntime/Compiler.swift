import SegGraph
import SegKernels
import SegReference
import SegRewrite
import SegTensor

/// Turns a model + concrete input shapes into a `CompiledModel`.
public struct Compiler: Sendable {
    public var registry: OperatorRegistry = .standard
    /// Use fast kernels where available (off: every node falls back, for checking).
    public var fastKernels = true
    /// Intra-op threads (nil: one per core, the shared pool).
    public var threads: Int?
    /// Every run-time switch (INT8 on/off, GEMM path, ISA, kernel algorithms); by default this
    /// process's `SEGSLIM_*` environment, read once.
    public var options: RuntimeOptions
    /// Run QDQ patterns (DequantizeLinear → op → QuantizeLinear) on INT8 kernels, keeping
    /// activations u8 between them; off: Q/DQ run as float steps around float kernels.
    public var int8: Bool {
        get { options.int8 }
        set { options.int8 = newValue }
    }
    /// Forces the INT8 GEMM summation path for every layer (nil: per layer, `.maddubs` only where
    /// it provably cannot saturate); forcing `.maddubs` on weights that can saturate changes
    /// results and exists to measure its speed.
    public var qgemmPath: QGemmPath? {
        get { options.qgemmPath }
        set { options.qgemmPath = newValue }
    }

    /// `int8` and `qgemmPath`, where given, override those of `options`.
    public init(fastKernels: Bool = true, threads: Int? = nil, int8: Bool? = nil, qgemmPath: QGemmPath? = nil,
                options: RuntimeOptions = .process) {
        self.fastKernels = fastKernels
        self.threads = threads
        self.options = options
        if let int8 { self.options.int8 = int8 }
        if let qgemmPath { self.options.qgemmPath = qgemmPath }
    }

    public func compile(_ model: Model, inputShapes: [String: [Int]]) throws -> CompiledModel {
        // Clean-up that changes no numbers; with the input shapes fixed, shape subgraphs fold.
        let (m, _) = try RewriteManager([EliminateIdentity(), FoldConstants(inputShapes: inputShapes, maxElements: 1 << 22),
                                         FoldBatchNorm(), EliminateDeadNodes()]).run(model)
        let inference = try ShapeInference(model: m, registry: registry, inputShapes: inputShapes)
        let order = try m.graph.topologicalOrder()
        var builder = PlanBuilder(model: m, nodes: order.map { m.graph.nodes[$0] }, inference: inference,
                                  registry: registry, fastKernels: fastKernels, context: Pools.context(threads: threads, options: options))
        builder.int8 = int8
        builder.qgemmPath = qgemmPath
        if int8 { builder.quantized = QuantizedConstant.collect(model) }
        return try builder.build(inputShapes: inputShapes)
    }
}
