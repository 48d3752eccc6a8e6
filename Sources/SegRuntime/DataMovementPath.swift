import SegGraph

/// Pooling, Slice, reshapes, reductions and other data movement.
/// Returns nil for a node it has no fast kernel for (the reference implementation runs).
enum DataMovementPath {
    static func select(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        nil
    }
}
