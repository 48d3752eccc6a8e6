/// How many pixels of a u8 mask each class covers: what `model/segment` lists as the classes
/// present in an image.
package struct ClassHistogram: Sendable, Equatable {
    /// Pixels per class value, indexed 0...255.
    package private(set) var counts: [Int]
    /// Pixels counted.
    package private(set) var total: Int

    package struct Entry: Sendable, Equatable {
        package var id: Int
        package var count: Int
        /// `count / total`.
        package var fraction: Double
    }

    /// Takes the mask's array (not any sequence): a generic sequence is iterated through
    /// witness calls from another module, which cost ~1 ms per 360×480 mask on the segment path.
    /// Four tables filled in turn: a mask is mostly runs of one class, and one table would
    /// make every increment wait for the previous one to the same counter.
    package init(mask: [UInt8]) {
        var tables = [Int](repeating: 0, count: 4 * 256)
        mask.withUnsafeBufferPointer { m in
            tables.withUnsafeMutableBufferPointer { t in
                let n = m.count
                var i = 0
                while i + 4 <= n {
                    t[Int(m[i])] &+= 1
                    t[256 + Int(m[i + 1])] &+= 1
                    t[512 + Int(m[i + 2])] &+= 1
                    t[768 + Int(m[i + 3])] &+= 1
                    i += 4
                }
                while i < n { t[Int(m[i])] &+= 1; i += 1 }
            }
        }
        self.counts = (0..<256).map { tables[$0] + tables[256 + $0] + tables[512 + $0] + tables[768 + $0] }
        self.total = mask.count
    }

    /// Every class with at least one pixel, the largest first (equal counts: lower id first).
    package var present: [Entry] {
        let denominator = Double(max(total, 1))
        return counts.enumerated()
            .filter { $0.element > 0 }
            .sorted { ($0.element, -$0.offset) > ($1.element, -$1.offset) }
            .map { Entry(id: $0.offset, count: $0.element, fraction: Double($0.element) / denominator) }
    }
}
