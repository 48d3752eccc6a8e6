#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A fixed set of worker threads that run `parallelFor` chunks.
///
/// - One process-wide instance, `ThreadPool.shared`, sized to the online cores, so two
///   requests running at once share the same workers instead of multiplying threads.
/// - `parallelFor` splits `0..<count` into at most `threadCount` contiguous chunks; the
///   calling thread runs the first one, sleeping workers run the rest.
/// - Busy policy: a caller that arrives while the pool is already running a job (a nested
///   call from inside a body, or a second request on another thread) runs its whole range
///   inline on its own thread. That never deadlocks and never oversubscribes: the extra
///   work runs on a thread that exists anyway.
/// - Idle workers spin on the job counter for about a millisecond (a model's layers follow
///   each other within microseconds, a serial step or a request's decode can leave the pool
///   idle for hundreds, and waking a sleeping worker on a virtual machine costs tens to
///   hundreds), then block on a condition variable. The caller likewise spins on the
///   outstanding-worker count before sleeping.
package final class ThreadPool: @unchecked Sendable {
    /// Threads that execute a job, the caller included.
    package let threadCount: Int
    private let state: PoolState

    package static let shared = ThreadPool(threadCount: ThreadPool.onlineCores)

    package static var onlineCores: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    package init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        state = PoolState()
        for index in 1..<self.threadCount {
            let context = WorkerContext(state: state, index: index)
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            // GEMM keeps its packed B block in a stack temporary; give workers room for it.
            pthread_attr_setstacksize(&attributes, 16 << 20)
            #if canImport(Glibc)
            var thread = pthread_t()
            #else
            var thread: pthread_t? = nil
            #endif
            let argument = Unmanaged.passRetained(context).toOpaque()
            pthread_create(&thread, &attributes, { raw in
                #if canImport(Glibc)
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                #else
                let context = Unmanaged<WorkerContext>.fromOpaque(raw).takeRetainedValue()
                #endif
                context.state.workerLoop(index: context.index)
                return nil
            }, argument)
            pthread_detach(thread)
            pthread_attr_destroy(&attributes)
        }
    }

    deinit { state.shutDown() }

    /// Calls `body` on contiguous sub-ranges covering `0..<count` exactly once, in parallel,
    /// and returns when all have finished. Chunks differ in length by at most one.
    /// `body` must not assume which thread runs which chunk.
    package func parallelFor(_ count: Int, _ body: (Range<Int>) -> Void) {
        let chunks = min(threadCount, count)
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let job = Job(count: count, chunks: chunks, body: escapable)
            guard state.start(job, workers: threadCount - 1) else {
                body(0..<count)
                return
            }
            job.run(chunk: 0)
            state.finish()
        }
    }
}

/// One parallelFor call as the workers see it.
final class Job: @unchecked Sendable {
    let count: Int
    let chunks: Int
    let body: (Range<Int>) -> Void

    init(count: Int, chunks: Int, body: @escaping (Range<Int>) -> Void) {
        self.count = count
        self.chunks = chunks
        self.body = body
    }

    func run(chunk: Int) {
        guard chunk < chunks else { return }
        let lower = chunk * count / chunks
        let upper = (chunk + 1) * count / chunks
        if lower < upper { body(lower..<upper) }
    }
}

private final class WorkerContext {
    let state: PoolState
    let index: Int
    init(state: PoolState, index: Int) {
        self.state = state
        self.index = index
    }
}

/// Mutex-protected hand-off between the caller and the workers: a generation counter tells
/// workers a new job exists, `pending` counts workers that have not finished it. Both are
/// also atomics so either side can spin on them for a while before sleeping.
final class PoolState: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Written under the mutex; read lock-free while spinning.
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private var job: Job?
    private var busy = false
    private let stopping = Atomic<Bool>(false)

    /// Spin iterations (one atomic load each) before blocking: about a millisecond. At 2^15
    /// (tens of µs) the worker slept through a segment request's decode and normalisation, and
    /// the model run that followed took 1-2 ms longer than the same plan run back to back.
    static let spinLimit = 1 << 20

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
    }

    /// Publishes `job`; false when another job owns the pool (the caller then runs inline).
    func start(_ job: Job, workers: Int) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if busy || stopping.load(ordering: .relaxed) { return false }
        busy = true
        self.job = job
        pending.store(workers, ordering: .relaxed)
        generation.wrappingAdd(1, ordering: .releasing)
        pthread_cond_broadcast(wake)
        return true
    }

    /// Waits for every worker to finish the current job and frees the pool.
    func finish() {
        var spins = 0
        while pending.load(ordering: .acquiring) > 0 && spins < Self.spinLimit {
            spins += 1
        }
        pthread_mutex_lock(mutex)
        while pending.load(ordering: .acquiring) > 0 { pthread_cond_wait(done, mutex) }
        job = nil
        busy = false
        pthread_mutex_unlock(mutex)
    }

    func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .relaxed)
                    && spins < Self.spinLimit {
                    spins += 1
            }
            pthread_mutex_lock(mutex)
            while generation.load(ordering: .relaxed) == seen && !stopping.load(ordering: .relaxed) {
                pthread_cond_wait(wake, mutex)
            }
            if stopping.load(ordering: .relaxed) { break }
            seen = generation.load(ordering: .relaxed)
            var current = job
            pthread_mutex_unlock(mutex)
            current?.run(chunk: index)
            // Drop the job (and the caller's non-escaping body) before reporting done.
            current = nil
            if pending.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                // The caller checks `pending` under the mutex before waiting: signalling
                // under it too means the wake-up cannot fall between its check and its wait.
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
        }
        pthread_mutex_unlock(mutex)
    }

    func shutDown() {
        pthread_mutex_lock(mutex)
        stopping.store(true, ordering: .relaxed)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        // Workers may still touch the mutex while leaving; they keep `self` alive through
        // their context, and the primitives are freed with it.
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(wake)
        pthread_cond_destroy(done)
        mutex.deallocate()
        wake.deallocate()
        done.deallocate()
    }
}
