import Testing
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
@testable import SegKernels
import Synchronization

@Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3])
    func coversEveryIndexOnce(threads: Int) {
        let pool = ThreadPool(threadCount: threads)
        for count in [0, 1, 2, 5, 17] {
            var hits = [Int](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { hits in
                pool.parallelFor(count) { range in
                    for i in range { hits[i] += 1 }
                }
            }
            #expect(hits.allSatisfy { $0 == 1 })
        }
    }

    @Test func nestedCallsRunInline() {
        let pool = ThreadPool(threadCount: 2)
        var sums = [Int](repeating: 0, count: 4)
        sums.withUnsafeMutableBufferPointer { sums in
            pool.parallelFor(4) { outer in
                for i in outer {
                    pool.parallelFor(10) { inner in
                        for j in inner { sums[i] += j }
                    }
                }
            }
        }
        #expect(sums == [45, 45, 45, 45])
    }

    /// Back-to-back jobs (workers still spinning) and jobs after a pause (workers asleep on
    /// the condition variable) both cover every index exactly once.
    @Test func spinningAndSleepingHandOffs() {
        let pool = ThreadPool(threadCount: 3)
        var total = 0
        for round in 0..<2000 {
            if round % 500 == 499 { usleep(20_000) }
            var hits = [Int](repeating: 0, count: 7)
            hits.withUnsafeMutableBufferPointer { hits in
                pool.parallelFor(7) { range in
                    for i in range { hits[i] += 1 }
                }
            }
            total += hits.reduce(0, +)
        }
        #expect(total == 2000 * 7)
    }
}

extension ThreadPoolTests {
    /// A worker that stalls in its first chunk (as when the host takes its core away) holds
    /// up only that chunk: the caller claims the rest. A static split into one chunk per
    /// thread would leave half the range (32 indices) to the stalled worker.
    @Test func aStalledWorkerLeavesTheRestToTheOthers() {
        let pool = ThreadPool(threadCount: 2)
        let caller = pthread_self()
        let count = 64
        let byWorker = Mutex<[Int]>([])
        let stalled = Atomic<Bool>(false)
        var hits = [Int](repeating: 0, count: count)
        hits.withUnsafeMutableBufferPointer { hits in
            pool.parallelFor(count) { range in
                // Half a millisecond per index, so the worker wakes while there is work left.
                for i in range { hits[i] += 1; usleep(500) }
                if pthread_equal(pthread_self(), caller) == 0 {
                    byWorker.withLock { $0.append(contentsOf: range) }
                    if !stalled.exchange(true, ordering: .relaxed) { usleep(300_000) }
                }
            }
        }
        #expect(hits.allSatisfy { $0 == 1 })
        // At most the one chunk the worker stalled in (count / (2 · chunksPerThread) indices).
        #expect(byWorker.withLock { $0.count } <= count / (2 * ThreadPool.chunksPerThread))
    }

    /// Many short jobs where workers often wake after the caller has already finished:
    /// a late worker must not run a finished job's chunks or touch its closure.
    @Test func lateWorkersFindNothingLeft() {
        let pool = ThreadPool(threadCount: 3)
        for round in 0..<5000 {
            let count = 1 + round % 9
            var hits = [Int](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { hits in
                pool.parallelFor(count) { range in
                    for i in range { hits[i] += 1 }
                }
            }
            if !hits.allSatisfy({ $0 == 1 }) {
                Issue.record("round \(round): \(hits)")
                return
            }
        }
    }
}

/// Uneven work items (`forEachItem`) and row bands (`forEachBand`), which imaging's encoders
/// and decoders run on the kernels' pool.
@Suite struct ThreadPoolItemTests {
    /// Largest first to the least loaded lane, the lower lane on ties: 9 | 5+2+1 | 4+3+1
    /// (hand-computed LPT), where contiguous chunks would have put 9 and 5 on one thread.
    @Test func lanesBalanceUnevenCostsLargestFirst() {
        let costs = [1, 9, 2, 5, 1, 4, 3]
        let lanes = ThreadPool.lanes(costs: costs, count: 3)
        #expect(lanes == [[1], [3, 2, 0], [5, 6, 4]])
        #expect(lanes.map { $0.map { costs[$0] }.reduce(0, +) } == [9, 8, 8])
        #expect(ThreadPool.lanes(costs: [7, 7], count: 4) == [[0], [1]])
        #expect(ThreadPool.lanes(costs: [], count: 2) == [])
        #expect(ThreadPool.lanes(costs: [3, 1], count: 1) == [[0, 1]])
    }

    @Test(arguments: [1, 2, 3])
    func everyItemAndRowRunsOnce(threads: Int) {
        let pool = ThreadPool(threadCount: threads)
        for count in [0, 1, 2, 7] {
            let hits = Mutex<[Int]>([Int](repeating: 0, count: count))
            pool.forEachItem(costs: (0..<count).map { ($0 * 7) % 5 }) { i in hits.withLock { $0[i] += 1 } }
            #expect(hits.withLock { $0.allSatisfy { $0 == 1 } })
        }
        for height in [0, 1, 5, 64] {
            let rows = Mutex<[Int]>([Int](repeating: 0, count: height))
            pool.forEachBand(height: height, threads: 4, minRows: 2) { band in rows.withLock { for y in band { $0[y] += 1 } } }
            #expect(rows.withLock { $0.allSatisfy { $0 == 1 } }, "height \(height)")
        }
    }
}
