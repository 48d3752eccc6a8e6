import SegGraph
import SegTensor

/// What a fusion rewrite needs to know about the target that will run the result, beyond
/// the graph: which values it keeps in its float arena (and their shapes), which ops it has
/// a fused kernel for, which nodes another plan already claims, and the values known at
/// compile time. A rewrite fuses only what the target then runs fused, so fusing never turns
/// a fast node into a slow one.
package struct FusionFacts: Sendable {
    /// Dims of every f32 value with a static shape computed at run time.
    package var planned: [String: [Int]]
    /// Outputs of the Conv nodes the target can run as `FusedConv` (their geometry is one its
    /// kernels take).
    package var convs: Set<String>
    /// Outputs of nodes another plan (the INT8 path) runs: left alone.
    package var claimed: Set<String>
    /// Values known at compile time beyond the initializers (folded shape computations).
    package var constants: [String: Tensor]

    package init(planned: [String: [Int]], convs: Set<String>, claimed: Set<String> = [], constants: [String: Tensor] = [:]) {
        self.planned = planned
        self.convs = convs
        self.claimed = claimed
        self.constants = constants
    }
}
