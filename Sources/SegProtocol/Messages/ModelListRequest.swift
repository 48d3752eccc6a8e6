/// `model/list`: the resident models.
/// Result: `{models: [{id, path, residentBytes, loadedAtMs, derivedFrom}]}`.
public enum ModelListRequest {
    public static let method = "model/list"
}
