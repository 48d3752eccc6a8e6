import Foundation

/// One epoch's batches in order, decoded by background threads that stay at most `prefetch`
/// batches ahead of the consumer.
///
/// `next()` blocks until the next batch is ready (with `workers == 0` it decodes it right
/// there) and returns nil after the last one. A thrown error ends the epoch: later calls return
/// nil. Dropping the epoch or calling `cancel()` stops the workers after the sample each one is
/// decoding; none is left running or waiting.
///
/// Work is handed out sample by sample in delivery order, so with W workers a batch of B
/// samples decodes about min(W, B) times faster than on one thread, and where each sample lands
/// never depends on which thread decoded it.
package final class TrainingEpoch {
    package let epoch: Int
    /// Sample indices per batch, in delivery order.
    package let plan: [[Int]]
    /// Shared with the worker threads; they hold it, never the epoch, so dropping the epoch
    /// runs `deinit`, which stops them.
    package let pipeline: EpochPipeline
    private let loader: TrainingLoader
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

    /// The next batch, or nil when the epoch is over (or was cancelled, or failed earlier).
    package func next() throws(TrainingDataError) -> TrainingBatch? {
        guard !finished else { return nil }
        let result: Result<TrainingBatch, TrainingDataError>?
        if loader.workers == 0 {
            result = inlineNext < plan.count ? Self.build(plan[inlineNext], loader: loader, epoch: epoch) : nil
            inlineNext += 1
        } else {
            result = pipeline.take()
        }
        switch result {
        case .success(let batch)?: return batch
        case .failure(let error)?:
            finished = true
            pipeline.cancel()
            throw error
        case nil:
            finished = true
            return nil
        }
    }

    /// Stops the workers and waits until every one has exited (each finishes at most the
    /// sample it is decoding). Later `next()` calls return nil.
    package func cancel() {
        finished = true
        pipeline.cancel()
        pipeline.waitUntilStopped()
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
