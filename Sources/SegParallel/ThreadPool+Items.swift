extension ThreadPool {
    /// Runs `body(i)` once for each of `costs.count` uneven work items, spread over at most
    /// `threads` of the pool's threads: largest first, each to the thread with the least work
    /// so far (LPT), so one long item and several short ones finish together. `parallelFor`'s
    /// contiguous chunks would give one thread every large item.
    package func forEachItem(costs: [Int], threads: Int? = nil, _ body: (Int) -> Void) {
        let bins = Self.lanes(costs: costs, count: min(threads ?? threadCount, threadCount))
        guard bins.count > 1 else {
            for i in costs.indices { body(i) }
            return
        }
        parallelFor(bins.count) { range in
            for lane in range { for i in bins[lane] { body(i) } }
        }
    }

    /// Item indices per lane (at most `count` lanes, none empty): largest cost first, each to
    /// the lane with the least cost so far, the lower lane on ties.
    package static func lanes(costs: [Int], count: Int) -> [[Int]] {
        let n = max(1, min(count, costs.count))
        var bins = [[Int]](repeating: [], count: n)
        var load = [Int](repeating: 0, count: n)
        // Stable on equal costs, so the assignment does not depend on the sort's whims.
        for i in costs.indices.sorted(by: { (costs[$0], -$0) > (costs[$1], -$1) }) {
            let lightest = load.indices.min { (load[$0], $0) < (load[$1], $1) } ?? 0
            bins[lightest].append(i)
            load[lightest] += max(costs[i], 0)
        }
        return bins.filter { !$0.isEmpty }
    }

    /// Runs `body` over row bands of a `height`-row image on up to `threads` threads (each
    /// band at least `minRows` rows); bands never share a row.
    package func forEachBand(height: Int, threads: Int, minRows: Int = 1, _ body: (Range<Int>) -> Void) {
        let bands = max(1, min(threads, threadCount, height / max(minRows, 1)))
        if bands == 1 {
            if height > 0 { body(0..<height) }
            return
        }
        parallelFor(bands) { range in
            for b in range { body(b * height / bands..<(b + 1) * height / bands) }
        }
    }
}
