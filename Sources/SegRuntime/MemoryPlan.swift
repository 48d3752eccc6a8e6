/// Assigns arena offsets to values from their lifetimes (first-fit over freed blocks), so
/// values whose lifetimes do not overlap share memory.
struct MemoryPlan {
    struct Request {
        var name: String
        var count: Int
        /// Step index that writes it (-1 for model inputs).
        var first: Int
        /// Last step index that reads it (Int.max for model outputs).
        var last: Int
    }

    private(set) var offsets: [String: Int] = [:]
    private(set) var totalFloats = 0

    /// Offsets are multiples of 16 floats (64 bytes) so SIMD loads stay aligned.
    static func align(_ n: Int) -> Int { (n + 15) / 16 * 16 }

    init(_ requests: [Request]) {
        var free: [(offset: Int, count: Int)] = []
        var live: [(last: Int, offset: Int, count: Int)] = []
        for r in requests.sorted(by: { ($0.first, -$0.count) < ($1.first, -$1.count) }) {
            // Release everything whose last reader ran before this value is written.
            live.removeAll { l in
                if l.last < r.first { free.append((l.offset, l.count)); return true }
                return false
            }
            free.sort { $0.offset < $1.offset }
            let need = Self.align(r.count)
            if let i = free.firstIndex(where: { $0.count >= need }) {
                let block = free[i]
                offsets[r.name] = block.offset
                if block.count > need { free[i] = (block.offset + need, block.count - need) } else { free.remove(at: i) }
            } else {
                offsets[r.name] = totalFloats
                totalFloats += need
            }
            live.append((r.last, offsets[r.name] ?? 0, need))
            // Coalesce adjacent free blocks to limit fragmentation.
            free.sort { $0.offset < $1.offset }
            var merged: [(offset: Int, count: Int)] = []
            for b in free {
                if let l = merged.last, l.offset + l.count == b.offset { merged[merged.count - 1].count += b.count } else { merged.append(b) }
            }
            free = merged
        }
    }
}
