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

    /// 4 classes, 13 scored pixels and 2 ignored, with no symmetry to hide a mistake: rows
    /// (label) and columns (prediction) have different sums, so swapping them changes precision,
    /// recall and mean accuracy; every class has its own IoU; class 3 is predicted but never
    /// labelled. counts[label][prediction]:
    ///   label 0: 2 0 2 0   (L = 4)
    ///   label 1: 0 3 1 1   (L = 5)
    ///   label 2: 1 0 3 0   (L = 4)
    ///   label 3: 0 0 0 0   (L = 0)
    ///   P = 3 3 6 1, I = 2 3 3 0, N = 13
    func asymmetric() throws -> ConfusionMatrix {
        var m = try ConfusionMatrix(numClasses: 4)
        try m.add(prediction: [0, 1, 0, 2, 1, 3, 2, 0, 1, 2, 2, 2, 2, 1, 3] as [UInt8],
                  label: [0, 1, 2, 0, 255, 1, 2, 0, 1, 2, 0, 1, 2, 1, 255] as [UInt8])
        return m
    }

    @Test func confusionMatrixIsLabelRowsByPredictionColumnsAndSkipsIgnoredPixels() throws {
        let m = try asymmetric()
        #expect(m.counts == [2, 0, 2, 0,  0, 3, 1, 1,  1, 0, 3, 0,  0, 0, 0, 0])
        #expect(m[0, 2] == 2 && m[2, 0] == 1)
        let a = m.areas
        #expect(a.intersect == [2, 3, 3, 0])
        #expect(a.predicted == [3, 3, 6, 1])
        #expect(a.labelled == [4, 5, 4, 0])
        // The symmetric 3-class example of the other tests, too.
        #expect(try example().counts == [2, 1, 0,  0, 2, 1,  1, 0, 2])
    }

    @Test func metricsMatchHandComputedValues() throws {
        let s = try asymmetric().metrics
        func close(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-12 } }
        // IoU = I / (P + L − I): 2/5, 3/5, 3/7, and 0 for class 3 (union 1, intersection 0).
        #expect(close(s.classIoU, [0.4, 0.6, 3.0 / 7.0, 0]), "\(s.classIoU)")
        #expect(abs(s.miou - 5.0 / 14.0) < 1e-12)  // (2/5 + 3/5 + 3/7 + 0) / 4
        #expect(abs(s.pixelAccuracy - 8.0 / 13.0) < 1e-12)
        // Precision I/P and recall I/L differ per class: a transposed matrix would swap them.
        #expect(close(s.classPrecision, [2.0 / 3.0, 1, 0.5, 0]), "\(s.classPrecision)")
        #expect(close(s.classRecall, [0.5, 0.6, 0.75, 0]), "\(s.classRecall)")
        // Mean recall over the labelled classes 0-2 only: (1/2 + 3/5 + 3/4) / 3.
        #expect(abs(s.meanAccuracy - 37.0 / 60.0) < 1e-12)
        // Dice = 2I / (P + L): 4/7, 3/4, 3/5, 0; mean 269/560.
        #expect(close(s.classDice, [4.0 / 7.0, 0.75, 0.6, 0]), "\(s.classDice)")
        #expect(abs(s.meanDice - 269.0 / 560.0) < 1e-12)
        // p_o = 8/13, p_e = (3·4 + 3·5 + 6·4 + 1·0) / 13² = 51/169, kappa = (104 − 51) / (169 − 51).
        #expect(abs(s.kappa - 53.0 / 118.0) < 1e-12)
        #expect(s.pixels == 13)
    }

    @Test func symmetricExampleGivesEqualPerClassScores() throws {
        let s = try example().metrics
        // IoU: 2 / (3 + 3 - 2) = 0.5 for every class; p_e = 3·(3·3)/81 = 1/3, kappa 0.5.
        #expect(s.classIoU == [0.5, 0.5, 0.5])
        #expect(abs(s.pixelAccuracy - 6.0 / 9.0) < 1e-12)
        #expect(abs(s.kappa - 0.5) < 1e-12)
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
        // The asymmetric example split in two images.
        var c = try ConfusionMatrix(numClasses: 4)
        var d = try ConfusionMatrix(numClasses: 4)
        try c.add(prediction: [0, 1, 0, 2, 1, 3, 2] as [UInt8], label: [0, 1, 2, 0, 255, 1, 2] as [UInt8])
        try d.add(prediction: [0, 1, 2, 2, 2, 2, 1, 3] as [UInt8], label: [0, 1, 2, 0, 1, 2, 1, 255] as [UInt8])
        try c.merge(d)
        #expect(c == (try asymmetric()))
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
