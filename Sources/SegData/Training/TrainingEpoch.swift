import Foundation

/// One epoch's batches in order, decoded by background threads that stay at most `prefetch`
/// batches ahead of the consumer.
///
/// Two ways to consume it: `next()` blocks the calling thread until the next batch is ready;
/// `for try await batch in epoch` (or `nextAsync()`) suspends instead, so a trainer running in
/// a task does not hold a cooperative thread while it waits, and cancelling that task stops the
/// workers. With `workers == 0` the batch is decoded inside the call. Both return nil after the
/// last batch. A thrown error ends the epoch: later calls return nil. Dropping the epoch or
/// calling `cancel()` stops the workers after the sample each one is decoding; none is left
/// running or waiting.
///
/// Work is handed out sample by sample in delivery order, so with W workers a batch of B
/// samples decodes about min(W, B) times faster than on one thread, and where each sample lands
/// never depends on which thread decoded it.
package final class TrainingEpoch: AsyncSequence, @unchecked Sendable {
    package typealias Element = TrainingBatch
    package typealias Failure = TrainingDataError

    package let epoch: Int
    /// Sample indices per batch, in delivery order.
    package let plan: [[Int]]
    /// Shared with the worker threads; they hold it, never the epoch, so dropping the epoch
    /// runs `deinit`, which stops them.
    package let pipeline: EpochPipeline
    private let loader: TrainingLoader
    /// Guards `inlineNext` and `finished` (hence `@unchecked Sendable`).
    private let lock = NSLock()
    private var inlineNext = 0
    private var finished = false

    init(loader: TrainingLoader, epoch: Int) {
        self.loader = loader
        self.epoch = epoch
        plan = loader.batchPlan(epoch: epoch)
        pipeline = EpochPipeline(plan: plan, prefetch: loader.prefetch)
        for worker in 0..<loader.workers {
            let pipeline = pipeline
            pipeline.workerStarted()
            let thread = Thread { pipeline.work(loader: loader, epoch: epoch) }
            thread.name = "segslim-loader-\(worker)"
            thread.start()
        }
    }

    deinit { pipeline.cancel() }

    package var count: Int { plan.count }

    /// The next batch, blocking until it is ready; nil when the epoch is over (or was
    /// cancelled, or failed earlier).
    package func next() throws(TrainingDataError) -> TrainingBatch? {
        switch claim() {
        case .done: return nil
        case .inline(let indices): return try finish(indices.map { Self.build($0, loader: loader, epoch: epoch) })
        case .pipeline: return try finish(pipeline.take())
        }
    }

    /// The next batch, suspending (not blocking) until it is ready. Cancelling the calling
    /// task cancels the epoch: this and later calls return nil.
    package func nextAsync() async throws(TrainingDataError) -> TrainingBatch? {
        switch claim() {
        case .done: return nil
        case .inline(let indices): return try finish(indices.map { Self.build($0, loader: loader, epoch: epoch) })
        case .pipeline:
            let pipeline = pipeline
            let result = await withTaskCancellationHandler {
                await pipeline.takeAsync()
            } onCancel: {
                pipeline.cancel()
            }
            return try finish(result)
        }
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        let epoch: TrainingEpoch

        package mutating func next() async throws(TrainingDataError) -> TrainingBatch? {
            try await epoch.nextAsync()
        }

        package mutating func next(isolation actor: isolated (any Actor)?) async throws(TrainingDataError) -> TrainingBatch? {
            try await epoch.nextAsync()
        }
    }

    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(epoch: self) }

    /// Stops the workers and waits until every one has exited (each finishes at most the
    /// sample it is decoding). Later `next()` calls return nil.
    package func cancel() {
        lock.withLock { finished = true }
        pipeline.cancel()
        pipeline.waitUntilStopped()
    }

    private enum Claim { case done, inline([Int]?), pipeline }

    /// Decides, under the lock, where the caller's batch comes from.
    private func claim() -> Claim {
        lock.withLock {
            if finished { return .done }
            guard loader.workers == 0 else { return .pipeline }
            defer { inlineNext += 1 }
            return .inline(inlineNext < plan.count ? plan[inlineNext] : nil)
        }
    }

    /// The batch, or the end of the epoch (with the workers stopped) on nil or an error.
    private func finish(_ result: Result<TrainingBatch, TrainingDataError>?) throws(TrainingDataError) -> TrainingBatch? {
        if case .success(let batch)? = result { return batch }
        lock.withLock { finished = true }
        pipeline.cancel()
        if case .failure(let error)? = result { throw error }
        return nil
    }

    static func build(_ indices: [Int], loader: TrainingLoader, epoch: Int) -> Result<TrainingBatch, TrainingDataError> {
        var parts: [TrainingSample] = []
        for i in indices {
            do {
                parts.append(try loader.sample(epoch: epoch, index: i))
            } catch {
                return .failure(error)
            }
        }
        return Result { () throws(TrainingDataError) in try loader.assemble(parts) }
    }
}
