/// Start-up settings of a daemon, from its command line.
public struct ServerConfiguration: Sendable {
    /// Largest message body accepted; bigger ones are refused and skipped.
    public var maxMessageBytes: Int = 256 << 20
    /// Serve `debug/*` methods (slow cancellable requests for tests).
    public var enableDebugMethods = false
    /// Bytes resident models may hold together.
    public var memoryBudgetBytes: Int64 = 8 << 30

    public init(maxMessageBytes: Int = 256 << 20, enableDebugMethods: Bool = false, memoryBudgetBytes: Int64 = 8 << 30) {
        self.maxMessageBytes = maxMessageBytes
        self.enableDebugMethods = enableDebugMethods
        self.memoryBudgetBytes = memoryBudgetBytes
    }
}
