import Foundation

/// Start-up settings of a daemon, from its command line.
package struct ServerConfiguration: Sendable {
    /// Largest message body accepted; bigger ones are refused and skipped.
    package var maxMessageBytes: Int = 256 << 20
    /// Serve `debug/*` methods (slow cancellable requests for tests).
    package var enableDebugMethods = false
    /// Bytes resident models may hold together. Default: half the machine's memory.
    package var memoryBudgetBytes: Int64
    /// Working memory one image of `model/segment` may take (its buffers and the plan's
    /// arena), however much budget is free: a few files declaring huge images must not take
    /// the machine between them. Default 2 GiB.
    package var maxRequestBytes: Int64

    package static var defaultMemoryBudget: Int64 { Int64(ProcessInfo.processInfo.physicalMemory / 2) }

    package init(maxMessageBytes: Int = 256 << 20, enableDebugMethods: Bool = false, memoryBudgetBytes: Int64 = ServerConfiguration.defaultMemoryBudget,
                maxRequestBytes: Int64 = 2 << 30) {
        self.maxMessageBytes = maxMessageBytes
        self.enableDebugMethods = enableDebugMethods
        self.memoryBudgetBytes = memoryBudgetBytes
        self.maxRequestBytes = maxRequestBytes
    }
}
