import Testing
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
}
