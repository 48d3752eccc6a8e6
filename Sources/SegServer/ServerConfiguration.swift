import Foundation

/// Start-up settings of a daemon, from its command line.
public struct ServerConfiguration: Sendable {
    /// Largest message body accepted; bigger ones are refused and skipped.
    public var maxMessageBytes: Int = 256 << 20
    /// Serve `debug/*` methods (slow cancellable requests for tests).
    public var enableDebugMethods = false
    /// Bytes resident models may hold together. Default: half the machine's memory.
    public var memoryBudgetBytes: Int64

    public static var defaultMemoryBudget: Int64 { Int64(ProcessInfo.processInfo.physicalMemory / 2) }

    public init(maxMessageBytes: Int = 256 << 20, enableDebugMethods: Bool = false, memoryBudgetBytes: Int64 = ServerConfiguration.defaultMemoryBudget) {
        self.maxMessageBytes = maxMessageBytes
        self.enableDebugMethods = enableDebugMethods
        self.memoryBudgetBytes = memoryBudgetBytes
    }
}
