/// A model as the rest of SegSlim sees it: a graph plus model-level facts.
///
/// Value type: a technique returns a new `Model` and never mutates the one it was given,
/// so the original stays resident and comparable.
public struct Model: Sendable {
    /// ONNX `metadata_props`, in file order is not significant.
    public var metadata: [String: String]

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }
}
