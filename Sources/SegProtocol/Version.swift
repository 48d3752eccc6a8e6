/// The SegSlim release this build is. One place, so the daemon, the CLI and `initialize`
/// cannot disagree.
public enum SegSlimVersion {
    public static let current = "0.1.0"
    /// Protocol revision: bumped when a method's params or result change incompatibly.
    public static let protocolRevision = 1
}
