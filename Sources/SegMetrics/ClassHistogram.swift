/// How many pixels of a u8 mask each class covers: what `model/segment` lists as the classes
/// present in an image.
public struct ClassHistogram: Sendable, Equatable {
    /// Pixels per class value, indexed 0...255.
    public private(set) var counts: [Int]
    /// Pixels counted.
    public private(set) var total: Int

    public struct Entry: Sendable, Equatable {
        public var id: Int
        public var count: Int
        /// `count / total`.
        public var fraction: Double
    }

    public init(mask: some Sequence<UInt8>) {
        var counts = [Int](repeating: 0, count: 256)
        var total = 0
        for v in mask {
            counts[Int(v)] += 1
            total += 1
        }
        self.counts = counts
        self.total = total
    }

    /// Every class with at least one pixel, the largest first (equal counts: lower id first).
    public var present: [Entry] {
        let denominator = Double(max(total, 1))
        return counts.enumerated()
            .filter { $0.element > 0 }
            .sorted { ($0.element, -$0.offset) > ($1.element, -$1.offset) }
            .map { Entry(id: $0.offset, count: $0.element, fraction: Double($0.element) / denominator) }
    }
}
