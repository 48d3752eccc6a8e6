import SegMetrics
import Testing

@Suite struct ClassHistogramTests {
    @Test func fractionsOfEachClassPresentLargestFirst() {
        // 10 pixels: class 7 ×4, class 3 ×3, class 0 ×2, void 255 ×1.
        let h = ClassHistogram(mask: [3, 3, 0, 3, 7, 0, 7, 7, 7, 255] as [UInt8])
        #expect(h.total == 10)
        #expect(h.counts[7] == 4 && h.counts[3] == 3 && h.counts[0] == 2 && h.counts[255] == 1 && h.counts[1] == 0)
        #expect(h.present.map(\.id) == [7, 3, 0, 255])
        #expect(h.present.map(\.count) == [4, 3, 2, 1])
        #expect(h.present.map(\.fraction) == [0.4, 0.3, 0.2, 0.1])
    }

    @Test func tiesKeepTheLowerClassFirst() {
        let h = ClassHistogram(mask: [2, 1, 2, 1, 5] as [UInt8])
        #expect(h.present.map(\.id) == [1, 2, 5])
        #expect(h.present.map(\.fraction) == [0.4, 0.4, 0.2])
    }

    @Test func anEmptyMaskHasNoClasses() {
        let h = ClassHistogram(mask: [UInt8]())
        #expect(h.total == 0 && h.present.isEmpty)
    }
}
