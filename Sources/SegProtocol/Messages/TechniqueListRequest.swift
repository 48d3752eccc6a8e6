/// `technique/list`: descriptors of every registered technique.
/// Result: `{techniques: [{id, summary, parameters (JSON Schema), needs: [...], examples: [...]}]}`.
public enum TechniqueListRequest {
    public static let method = "technique/list"
}
