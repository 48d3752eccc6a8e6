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
/// - `parallelFor` splits `0..<count` into at most `chunksPerThread · threadCount` contiguous
///   chunks, dealt out in contiguous lanes as a static split would; each thread (the caller
///   is one) runs its own lane, then claims what is left of the others'. It returns when
///   every chunk has run. A thread that the host deschedules (this VM loses a
///   core to its neighbours for milliseconds at a time) or a worker that wakes late no longer
///   holds up the op: the others claim its share. The caller does not wait for workers that
///   never got a chunk; one that wakes after the job ended finds nothing left to claim.
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
    /// and returns when all have finished. At most `chunksPerThread · threadCount` chunks,
    /// differing in length by at most one, each run on whichever thread claims it.
    /// `body` must not assume which thread runs which chunk.
    package func parallelFor(_ count: Int, _ body: (Range<Int>) -> Void) {
        let chunks = min(threadCount * Self.chunksPerThread, count)
        if threadCount <= 1 || chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let job = Job(count: count, chunks: chunks, lanes: min(threadCount, chunks), body: escapable)
            guard state.start(job) else {
                body(0..<count)
                return
            }
            let finishedLast = job.work(lane: 0)
            state.finish(job, finishedLast: finishedLast)
        }
    }

    /// Chunks per thread for a range longer than that: enough that a stalled thread's share is
    /// small, few enough that per-chunk setup (scratch, operand copies) stays negligible.
    /// Callers that size their work to the thread count (`forEachItem`, GEMM blocks) get one
    /// chunk per item.
    package static let chunksPerThread = 4
}

/// One parallelFor call as the threads see it. The chunks are dealt out in contiguous lanes,
/// one per thread, as a static split would (so with no stall each thread touches the same
/// rows of every layer and they stay in its core's cache); a thread runs its own lane first,
/// then claims what is left of the others'. `remaining` counts chunks not yet finished.
/// `body` is read only after a successful claim and cleared by the caller once `remaining` is
/// 0, so a worker that still holds the job afterwards (it woke late) never touches the
/// caller's closure.
final class Job: @unchecked Sendable {
    let count: Int
    let chunks: Int
    let lanes: Int
    private var body: ((Range<Int>) -> Void)?
    /// Per lane, the next unclaimed chunk (claimed by fetch-add, so a lane's owner and the
    /// threads that steal from it never run one chunk twice).
    private let next: UnsafeMutablePointer<Atomic<Int>>
    private let remaining: Atomic<Int>

    init(count: Int, chunks: Int, lanes: Int, body: @escaping (Range<Int>) -> Void) {
        self.count = count
        self.chunks = chunks
        self.lanes = lanes
        self.body = body
        remaining = Atomic(chunks)
        next = .allocate(capacity: lanes)
        for lane in 0..<lanes { (next + lane).initialize(to: Atomic(laneStart(lane))) }
    }

    deinit {
        next.deinitialize(count: lanes)
        next.deallocate()
    }

    private func laneStart(_ lane: Int) -> Int { lane * chunks / lanes }

    /// Runs the chunks of `lane` (the thread's own), then those still unclaimed in the other
    /// lanes; true when this thread finished the last chunk of the job.
    func work(lane: Int) -> Bool {
        var finishedLast = false
        for offset in 0..<lanes {
            let victim = (lane + offset) % lanes
            let end = laneStart(victim + 1)
            while true {
                let chunk = next[victim].wrappingAdd(1, ordering: .relaxed).oldValue
                guard chunk < end else { break }
                run(chunk: chunk)
                if remaining.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue == 0 { finishedLast = true }
            }
        }
        return finishedLast
    }

    /// Out of line so that this thread's reference to `body` is released before it reports the
    /// chunk done: once `remaining` reads 0 the caller checks that its closure did not escape.
    @inline(never)
    private func run(chunk: Int) {
        let lower = chunk * count / chunks
        let upper = (chunk + 1) * count / chunks
        if lower < upper { body?(lower..<upper) }
    }

    var isDone: Bool { remaining.load(ordering: .acquiring) == 0 }

    /// Called by the caller after `isDone`: drops the closure so it cannot outlive the call.
    func release() { body = nil }
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
/// workers a new job exists; the job's own counters say when it is done. The counter is also
/// an atomic so workers can spin on it for a while before sleeping.
final class PoolState: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Written under the mutex; read lock-free while spinning.
    private let generation = Atomic<Int>(0)
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
    func start(_ job: Job) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if busy || stopping.load(ordering: .relaxed) { return false }
        busy = true
        self.job = job
        generation.wrappingAdd(1, ordering: .releasing)
        pthread_cond_broadcast(wake)
        return true
    }

    /// Waits until every chunk of `job` has run (not for workers that never claimed one),
    /// then frees the pool. `finishedLast`: the caller ran the last chunk itself.
    func finish(_ job: Job, finishedLast: Bool) {
        var spins = 0
        while !finishedLast && !job.isDone && spins < Self.spinLimit {
            spins += 1
        }
        pthread_mutex_lock(mutex)
        while !job.isDone { pthread_cond_wait(done, mutex) }
        job.release()
        self.job = nil
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
            // Nil when the caller already finished this job without us.
            var current = job
            pthread_mutex_unlock(mutex)
            if let lane = current.map({ index % $0.lanes }), current?.work(lane: lane) == true {
                // The caller checks the job under the mutex before waiting: signalling under
                // it too means the wake-up cannot fall between its check and its wait.
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
            current = nil
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
