import SegGraph

/// MatMul, Softmax, LayerNormalization, Erf, Transpose and general broadcasting binaries.
/// Returns nil for a node it has no fast kernel for (the reference implementation runs).
enum TensorOpsPath {
    static func select(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        nil
    }
}
