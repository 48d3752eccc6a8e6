import SegPipeline
import Synchronization

/// Compiled plans that belong to a request rather than to a resident model (a technique's
/// calibration, sensitivity and latency runs): charged against the memory budget from the
/// moment they are compiled until their runner is released.
package final class PlanLedger: Sendable {
    private let charges = Mutex<[ObjectIdentifier: Int]>([:])

    package init() {}

    /// Bytes charged now.
    package var bytes: Int { charges.withLock { $0.values.reduce(0, +) } }

    /// Charges what `runner`'s plans hold now (call after it may have compiled one).
    package func update(_ runner: CompiledRunner) {
        let held = runner.planBytes
        charges.withLock { $0[ObjectIdentifier(runner)] = held }
    }

    /// `runner` is gone: its plans are freed.
    package func release(_ runner: CompiledRunner) {
        charges.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(runner)) }
    }
}
