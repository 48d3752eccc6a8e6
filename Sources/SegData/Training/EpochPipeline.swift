import Foundation

/// The state shared by an epoch's consumer and its worker threads: which sample to decode
/// next, decoded samples waiting for the rest of their batch, and finished batches waiting for
/// the consumer. Every mutable field is read and written only while holding `condition`
/// (hence `@unchecked Sendable`); sample decoding and batch assembly run outside it.
package final class EpochPipeline: @unchecked Sendable {
    private let condition = NSCondition()
    private let plan: [[Int]]
    private let prefetch: Int
    /// (batch, slot) per work item, in delivery order.
    private let items: [(batch: Int, slot: Int)]
    private var nextItem = 0
    /// Batches handed to the consumer so far; workers may start batches below consumed + prefetch.
    private var consumed = 0
    private var pending: [Int: [Result<TrainingSample, TrainingDataError>?]] = [:]
    private var ready: [Int: Result<TrainingBatch, TrainingDataError>] = [:]
    private var cancelled = false
    private var running = 0
    /// Async consumers suspended until the next batch is ready, first come first served.
    private var waiters: [CheckedContinuation<Result<TrainingBatch, TrainingDataError>?, Never>] = []

    init(plan: [[Int]], prefetch: Int) {
        self.plan = plan
        self.prefetch = prefetch
        items = plan.indices.flatMap { b in plan[b].indices.map { (batch: b, slot: $0) } }
    }

    /// Worker threads alive now.
    package var runningWorkers: Int {
        condition.lock()
        defer { condition.unlock() }
        return running
    }

    func workerStarted() {
        condition.lock()
        running += 1
        condition.unlock()
    }

    /// A worker's whole life: take the next sample while there is room ahead of the consumer,
    /// decode it, and assemble its batch when it is the batch's last.
    func work(loader: TrainingLoader, epoch: Int) {
        condition.lock()
        defer {
            running -= 1
            condition.broadcast()
            condition.unlock()
        }
        while !cancelled, nextItem < items.count {
            let item = items[nextItem]
            guard item.batch < consumed + prefetch else {
                condition.wait()
                continue
            }
            nextItem += 1
            let index = plan[item.batch][item.slot]
            condition.unlock()
            let result = Result { () throws(TrainingDataError) in try loader.sample(epoch: epoch, index: index) }
            condition.lock()
            if cancelled { return }
            var parts = pending[item.batch] ?? Array(repeating: nil, count: plan[item.batch].count)
            parts[item.slot] = result
            guard parts.allSatisfy({ $0 != nil }) else {
                pending[item.batch] = parts
                continue
            }
            pending[item.batch] = nil
            condition.unlock()
            let batch = Self.assemble(parts.compactMap { $0 }, loader: loader)
            condition.lock()
            ready[item.batch] = batch
            condition.broadcast()
            var resumed: [(CheckedContinuation<Result<TrainingBatch, TrainingDataError>?, Never>, Result<TrainingBatch, TrainingDataError>?)] = []
            while !waiters.isEmpty, let next = takeLocked() { resumed.append((waiters.removeFirst(), next)) }
            if !resumed.isEmpty {
                condition.unlock()
                for (waiter, result) in resumed { waiter.resume(returning: result) }
                condition.lock()
            }
        }
    }

    /// The first failure in slot order, so which error a batch reports never depends on timing.
    private static func assemble(_ parts: [Result<TrainingSample, TrainingDataError>], loader: TrainingLoader)
        -> Result<TrainingBatch, TrainingDataError> {
        var samples: [TrainingSample] = []
        for part in parts {
            switch part {
            case .success(let s): samples.append(s)
            case .failure(let e): return .failure(e)
            }
        }
        return Result { () throws(TrainingDataError) in try loader.assemble(samples) }
    }

    /// Blocks until the consumer's next batch is ready; nil at the end or after cancellation.
    func take() -> Result<TrainingBatch, TrainingDataError>? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let next = takeLocked() { return next }
            condition.wait()
        }
    }

    /// `take()` without blocking a thread: suspends until the batch is ready.
    func takeAsync() async -> Result<TrainingBatch, TrainingDataError>? {
        await withCheckedContinuation { waiter in
            condition.lock()
            guard let next = takeLocked() else {
                waiters.append(waiter)
                condition.unlock()
                return
            }
            condition.unlock()
            waiter.resume(returning: next)
        }
    }

    /// With the lock held: `.some(batch)` when the next batch is ready, `.some(nil)` when there
    /// is none to wait for (end, cancelled), nil when the consumer must wait.
    private func takeLocked() -> Result<TrainingBatch, TrainingDataError>?? {
        if cancelled || consumed >= plan.count { return .some(nil) }
        guard let result = ready.removeValue(forKey: consumed) else { return nil }
        consumed += 1
        condition.broadcast()
        return .some(result)
    }

    /// Wakes everyone; workers exit after their current sample, nothing more is decoded.
    func cancel() {
        condition.lock()
        cancelled = true
        ready = [:]
        pending = [:]
        let suspended = waiters
        waiters = []
        condition.broadcast()
        condition.unlock()
        for waiter in suspended { waiter.resume(returning: nil) }
    }

    /// Waits until every worker has exited; false if `timeout` seconds passed first.
    @discardableResult
    package func waitUntilStopped(timeout: Double = .infinity) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout.isFinite ? timeout : 0)
        condition.lock()
        defer { condition.unlock() }
        while running > 0 {
            // No `wait(until: .distantFuture)`: corelibs Foundation traps converting it to a timespec.
            if !timeout.isFinite {
                condition.wait()
            } else if !condition.wait(until: deadline) {
                return running == 0
            }
        }
        return true
    }
}
