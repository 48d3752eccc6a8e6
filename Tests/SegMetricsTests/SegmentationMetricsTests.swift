import Testing
@testable import SegMetrics

@Suite struct SegmentationMetricsTests {
    /// 3 classes, 10 pixels, one ignored; every number below is worked out by hand.
    ///   label: 0 0 0 1 1 1 2 2 255 2
    ///   pred:  0 0 1 1 1 2 2 0 1   2
    func example() throws -> ConfusionMatrix {
        var m = try ConfusionMatrix(numClasses: 3)
        try m.add(prediction: [0, 0, 1, 1, 1, 2, 2, 0, 1, 2] as [UInt8], label: [0, 0, 0, 1, 1, 1, 2, 2, 255, 2] as [UInt8])
        return m
    }

    @Test func confusionMatrixSkipsIgnoredPixels() throws {
        let m = try example()
        #expect(m.counts == [2, 1, 0,  0, 2, 1,  1, 0, 2])
        let a = m.areas
        #expect(a.intersect == [2, 2, 2])
        #expect(a.predicted == [3, 3, 3])
        #expect(a.labelled == [3, 3, 3])
    }

    @Test func metricsMatchHandComputedValues() throws {
        let s = try example().metrics
        // IoU: 2 / (3 + 3 - 2) = 0.5 for every class.
        #expect(s.classIoU == [0.5, 0.5, 0.5])
        #expect(s.miou == 0.5)
        #expect(abs(s.pixelAccuracy - 6.0 / 9.0) < 1e-12)
        #expect(s.classPrecision.allSatisfy { abs($0 - 2.0 / 3.0) < 1e-12 })
        #expect(abs(s.meanAccuracy - 2.0 / 3.0) < 1e-12)
        #expect(s.classDice.allSatisfy { abs($0 - 2.0 / 3.0) < 1e-12 })
        // p_o = 6/9, p_e = 3·(3·3)/81 = 1/3, kappa = (2/3 − 1/3)/(2/3) = 0.5.
        #expect(abs(s.kappa - 0.5) < 1e-12)
        #expect(s.pixels == 9)
    }

    @Test func emptyUnionCountsAsZeroIoUButNotInMeanAccuracy() throws {
        var m = try ConfusionMatrix(numClasses: 3)
        try m.add(prediction: [0, 0, 1, 1] as [Int32], label: [0, 0, 1, 1] as [UInt8])
        let s = m.metrics
        #expect(s.classIoU == [1, 1, 0])
        #expect(abs(s.miou - 2.0 / 3.0) < 1e-12)  // PaddleSeg: the absent class pulls mIoU down
        #expect(s.meanAccuracy == 1)
        #expect(s.pixelAccuracy == 1)
        #expect(s.kappa == 1)
    }

    @Test func outOfRangeValuesAreCountedNotScored() throws {
        var m = try ConfusionMatrix(numClasses: 2, ignoreIndex: 255)
        try m.add(prediction: [0, 1, 7, 0] as [UInt8], label: [0, 9, 1, 255] as [UInt8])
        #expect(m.outOfRangeLabels == 1)
        #expect(m.outOfRangePredictions == 1)
        #expect(m.counts == [1, 0, 0, 0])
    }

    @Test func mergeEqualsAddingBothImages() throws {
        var a = try ConfusionMatrix(numClasses: 3)
        var b = try ConfusionMatrix(numClasses: 3)
        try a.add(prediction: [0, 0, 1, 1, 1] as [UInt8], label: [0, 0, 0, 1, 1] as [UInt8])
        try b.add(prediction: [2, 2, 0, 1, 2] as [UInt8], label: [1, 2, 2, 255, 2] as [UInt8])
        try a.merge(b)
        #expect(a == (try example()))
    }

    @Test func badInputIsAnError() throws {
        #expect(throws: MetricsError.invalidClassCount(0)) { try ConfusionMatrix(numClasses: 0) }
        var m = try ConfusionMatrix(numClasses: 2)
        #expect(throws: MetricsError.sizeMismatch(prediction: 2, label: 3)) {
            try m.add(prediction: [0, 1] as [UInt8], label: [0, 1, 1] as [UInt8])
        }
        #expect(throws: MetricsError.invalidClassCount(3)) { try m.merge(ConfusionMatrix(numClasses: 3)) }
    }
}
