import SegGraph
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

    public init(fastKernels: Bool = true, threads: Int? = nil) {
        self.fastKernels = fastKernels
        self.threads = threads
    }

    public func compile(_ model: Model, inputShapes: [String: [Int]]) throws -> CompiledModel {
        // Clean-up that changes no numbers; with the input shapes fixed, shape subgraphs fold.
        let (m, _) = try RewriteManager([EliminateIdentity(), FoldConstants(inputShapes: inputShapes, maxElements: 1 << 22),
                                         FoldBatchNorm(), EliminateDeadNodes()]).run(model)
        let inference = try ShapeInference(model: m, registry: registry, inputShapes: inputShapes)
        let order = try m.graph.topologicalOrder()
        return try PlanBuilder(model: m, nodes: order.map { m.graph.nodes[$0] }, inference: inference,
                               registry: registry, fastKernels: fastKernels,
                               context: Pools.context(threads: threads)).build(inputShapes: inputShapes)
    }
}
