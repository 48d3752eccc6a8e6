import Foundation
import SegData
import SegImaging
import SegMetrics

/// Scores a model on a dataset split: every sample segmented, masks compared with labels in
/// one confusion matrix. Decoding the next images overlaps inference of the current one.
package struct Evaluator: Sendable {
    package let segmenter: Segmenter
    package let dataset: Dataset

    package init(segmenter: Segmenter, dataset: Dataset) {
        self.segmenter = segmenter
        self.dataset = dataset
    }

    package struct Result: Sendable {
        package var confusion: ConfusionMatrix
        package var metrics: SegmentationMetrics
        package var images: Int
        /// Inference time per image, in order.
        package var inferMs: [Double]
        package var wallMs: Double
        /// Each image's mask (kept only when asked, for model comparison).
        package var masks: [Image]
    }

    /// `progress(done, total)` after each image. Throws `CancellationError` when cancelled.
    /// `limit` scores the first images of the split, or with `spread` as many spread evenly
    /// over it (a split listed in recording order would otherwise give one scene).
    package func evaluate(split: String, limit: Int? = nil, spread: Bool = false, keepMasks: Bool = false,
                         progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> Result {
        var samples = try dataset.samples(split: split).filter { $0.label != nil }
        guard !samples.isEmpty else { throw DatasetError.invalid(dataset.root, "split '\(split)' has no labelled samples") }
        if let limit, limit < samples.count {
            let n = max(limit, 0), all = samples
            samples = spread ? (0..<n).map { all[$0 * all.count / n] } : Array(all.prefix(n))
        }
        let classes = dataset.numClasses > 0 ? dataset.numClasses : segmenter.preprocessing.classes.count
        var confusion = try ConfusionMatrix(numClasses: max(classes, 1), ignoreIndex: dataset.ignoreIndex)
        let started = Date()
        var inferMs: [Double] = [], masks: [Image] = []
        let dataset = self.dataset
        // A small decode-ahead queue: up to 2 samples decoded while the model runs.
        let (stream, continuation) = AsyncThrowingStream<(Image, Image), Error>.makeStream(bufferingPolicy: .unbounded)
        let gate = DecodeGate(limit: 2)
        let producer = Task.detached {
            for s in samples {
                await gate.acquire()
                if Task.isCancelled { break }
                do {
                    let (image, label) = try dataset.load(s)
                    continuation.yield((image, label ?? image))
                } catch {
                    continuation.finish(throwing: PipelineError.image(s.label ?? s.image, "\(error)"))
                    return
                }
            }
            continuation.finish()
        }
        defer { producer.cancel() }
        var done = 0
        for try await (image, label) in stream {
            await gate.release()
            try Task.checkCancellation()
            let (mask, t) = try segmenter.segment(image, isCancelled: { Task.isCancelled })
            try confusion.add(prediction: mask.pixels, label: label.pixels)
            inferMs.append(t.inferMs)
            if keepMasks { masks.append(mask) }
            done += 1
            progress(done, samples.count)
        }
        try Task.checkCancellation()
        return Result(confusion: confusion, metrics: confusion.metrics, images: done, inferMs: inferMs,
                      wallMs: Date().timeIntervalSince(started) * 1000, masks: masks)
    }
}

/// Bounds how far decoding runs ahead of inference.
actor DecodeGate {
    var available: Int
    var waiters: [CheckedContinuation<Void, Never>] = []
    init(limit: Int) { available = limit }

    func acquire() async {
        if available > 0 { available -= 1; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { available += 1 } else { waiters.removeFirst().resume() }
    }
}

/// Latency summary in milliseconds.
package struct LatencyStats: Sendable, Equatable {
    package var p50Ms: Double
    package var p90Ms: Double
    package var meanMs: Double
    package var minMs: Double

    package init(_ samples: [Double]) {
        let s = samples.sorted()
        func pct(_ p: Double) -> Double {
            guard !s.isEmpty else { return 0 }
            let i = min(s.count - 1, max(0, Int((p * Double(s.count - 1)).rounded())))
            return s[i]
        }
        p50Ms = pct(0.5)
        p90Ms = pct(0.9)
        meanMs = s.isEmpty ? 0 : s.reduce(0, +) / Double(s.count)
        minMs = s.first ?? 0
    }
}
