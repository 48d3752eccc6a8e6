/// A segmentation confusion matrix: `counts[label * numClasses + prediction]` pixels.
///
/// Pixels whose label is the ignore index are skipped; labels outside `0..<numClasses` are
/// counted in `outOfRangeLabels` (and skipped) so a dataset with stray values is reported, not
/// silently scored. Predictions outside the range are a model/decoder bug and are counted in
/// `outOfRangePredictions`.
package struct ConfusionMatrix: Sendable, Equatable {
    package let numClasses: Int
    package let ignoreIndex: Int
    package private(set) var counts: [Int64]
    package private(set) var outOfRangeLabels: Int64 = 0
    package private(set) var outOfRangePredictions: Int64 = 0

    package init(numClasses: Int, ignoreIndex: Int = 255) throws(MetricsError) {
        guard numClasses > 0, numClasses <= 65536 else { throw .invalidClassCount(numClasses) }
        self.numClasses = numClasses
        self.ignoreIndex = ignoreIndex
        counts = [Int64](repeating: 0, count: numClasses * numClasses)
    }

    package subscript(label: Int, prediction: Int) -> Int64 { counts[label * numClasses + prediction] }

    /// Adds one image: `prediction[i]` is the class of pixel i, `label[i]` its ground truth.
    package mutating func add<P: BinaryInteger, L: BinaryInteger>(prediction: some Collection<P>, label: some Collection<L>) throws(MetricsError) {
        guard prediction.count == label.count else { throw .sizeMismatch(prediction: prediction.count, label: label.count) }
        let n = numClasses
        var badLabels: Int64 = 0, badPredictions: Int64 = 0
        counts.withUnsafeMutableBufferPointer { c in
            for (p, l) in zip(prediction, label) {
                let li = Int(truncatingIfNeeded: l)
                if li == ignoreIndex { continue }
                guard li >= 0 && li < n else { badLabels += 1; continue }
                let pi = Int(truncatingIfNeeded: p)
                guard pi >= 0 && pi < n else { badPredictions += 1; continue }
                c[li * n + pi] += 1
            }
        }
        outOfRangeLabels += badLabels
        outOfRangePredictions += badPredictions
    }

    /// Adds one image of 8-bit class ids (masks and PNG labels): the common case, without
    /// generic dispatch per pixel.
    package mutating func add(prediction: [UInt8], label: [UInt8]) throws(MetricsError) {
        guard prediction.count == label.count else { throw .sizeMismatch(prediction: prediction.count, label: label.count) }
        let n = numClasses, ignore = ignoreIndex
        var badLabels: Int64 = 0, badPredictions: Int64 = 0
        counts.withUnsafeMutableBufferPointer { c in
            prediction.withUnsafeBufferPointer { p in
                label.withUnsafeBufferPointer { l in
                    for i in 0..<p.count {
                        let li = Int(l[i])
                        if li == ignore { continue }
                        guard li < n else { badLabels += 1; continue }
                        let pi = Int(p[i])
                        guard pi < n else { badPredictions += 1; continue }
                        c[li * n + pi] += 1
                    }
                }
            }
        }
        outOfRangeLabels += badLabels
        outOfRangePredictions += badPredictions
    }

    /// Adds another matrix (from another image or worker).
    package mutating func merge(_ other: ConfusionMatrix) throws(MetricsError) {
        guard other.numClasses == numClasses else { throw .invalidClassCount(other.numClasses) }
        for i in counts.indices { counts[i] += other.counts[i] }
        outOfRangeLabels += other.outOfRangeLabels
        outOfRangePredictions += other.outOfRangePredictions
    }

    /// Per class: pixels predicted and labelled c (intersection), predicted c, labelled c.
    package var areas: (intersect: [Int64], predicted: [Int64], labelled: [Int64]) {
        var inter = [Int64](repeating: 0, count: numClasses)
        var pred = inter, lab = inter
        for l in 0..<numClasses {
            for p in 0..<numClasses {
                let v = counts[l * numClasses + p]
                lab[l] += v
                pred[p] += v
                if l == p { inter[l] += v }
            }
        }
        return (inter, pred, lab)
    }

    package var metrics: SegmentationMetrics { SegmentationMetrics(self) }
}

package enum MetricsError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidClassCount(Int)
    case sizeMismatch(prediction: Int, label: Int)

    package var description: String {
        switch self {
        case .invalidClassCount(let n): return "number of classes must be in 1...65536, got \(n)"
        case .sizeMismatch(let p, let l): return "prediction has \(p) pixels but the label has \(l)"
        }
    }
}
