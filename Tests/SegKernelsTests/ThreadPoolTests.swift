import Testing
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
@testable import SegKernels

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
