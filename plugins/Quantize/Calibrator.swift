import SegGraph
import SegTechnique
import SegTensor

/// Observed values of one activation tensor over the calibration images.
struct TensorStatistics: Sendable {
    var min = Float.infinity
    var max = -Float.infinity
    /// Histogram over `[histogramLow, histogramHigh]` (second pass; empty for minmax).
    var histogram: [Double] = []
    var histogramLow: Float = 0
    var histogramHigh: Float = 0
    /// Per-channel sums (axis 1 of NCHW, last axis of 2-/3-D) for bias correction.
    var channelSums: [Double] = []
    var channelCount: Double = 0

    var channelMeans: [Float] { channelCount > 0 ? channelSums.map { Float($0 / channelCount) } : [] }
}

/// Runs the FP32 model over calibration samples through the context's runner, with the
/// tensors of interest added as graph outputs, and accumulates their statistics.
struct Calibrator {
    let model: Model
    let observed: [String]

    /// Runs every sample; `visit(sampleIndex, outputs)` sees the observed tensors.
    static func run(_ model: Model, observing names: [String], samples: SampleSource, count: Int,
                    context: TechniqueContext, progress: (Int) -> Void = { _ in },
                    visit: (Int, [String: Tensor]) throws -> Void) async throws {
        let prepared = try context.requireRunner(for: "calibration").prepare(model, observing: names)
        for i in 0..<count {
            try context.checkCancellation()
            let inputs = try await samples.sample(i)
            let outputs = try prepared.run(inputs)
            try visit(i, outputs)
            progress(i + 1)
        }
    }

    /// Pass 1 (min/max and channel means), and pass 2 (histograms) when the method needs one.
    func collect(samples: SampleSource, count: Int, histogramBins: Int?, meansOf: Set<String>,
                 context: TechniqueContext, fraction: ClosedRange<Double>) async throws -> [String: TensorStatistics] {
        var stats = [String: TensorStatistics](uniqueKeysWithValues: observed.map { ($0, TensorStatistics()) })
        let passes = histogramBins == nil ? 1.0 : 2.0
        let span = fraction.upperBound - fraction.lowerBound
        try await Self.run(model, observing: observed, samples: samples, count: count, context: context,
                           progress: { done in context.progress(fraction.lowerBound + span * Double(done) / Double(count) / passes, "calibration pass 1: \(done)/\(count) images") }) { _, outputs in
            for name in observed {
                guard let t = outputs[name], t.dtype == .f32, var s = stats[name] else { continue }
                let wantMeans = meansOf.contains(name)
                let (channels, inner, outer) = Self.channelLayout(t.dims)
                if wantMeans && s.channelSums.count != channels { s.channelSums = [Double](repeating: 0, count: channels); s.channelCount = 0 }
                try t.withUnsafeBufferPointer(as: Float.self) { v in
                    var lo = s.min, hi = s.max
                    for x in v where x.isFinite { lo = Swift.min(lo, x); hi = Swift.max(hi, x) }
                    s.min = lo
                    s.max = hi
                    guard wantMeans else { return }
                    for o in 0..<outer {
                        for c in 0..<channels {
                            var sum: Float = 0
                            let base = (o * channels + c) * inner
                            for k in 0..<inner { sum += v[base + k] }
                            s.channelSums[c] += Double(sum)
                        }
                    }
                    s.channelCount += Double(outer * inner)
                }
                stats[name] = s
            }
        }
        guard let bins = histogramBins else { return stats }
        for name in observed {
            guard var s = stats[name], s.min.isFinite, s.max.isFinite else { continue }
            s.histogramLow = s.min
            s.histogramHigh = s.max > s.min ? s.max : s.min + 1e-6
            s.histogram = [Double](repeating: 0, count: bins)
            stats[name] = s
        }
        try await Self.run(model, observing: observed, samples: samples, count: count, context: context,
                           progress: { done in context.progress(fraction.lowerBound + span * (0.5 + Double(done) / Double(count) / 2), "calibration pass 2: \(done)/\(count) images") }) { _, outputs in
            for name in observed {
                guard let t = outputs[name], t.dtype == .f32, var s = stats[name], !s.histogram.isEmpty else { continue }
                let lo = s.histogramLow, width = (s.histogramHigh - s.histogramLow) / Float(bins)
                let inv = 1 / width, last = bins - 1
                var counts = [Int32](repeating: 0, count: bins)
                try t.withUnsafeBufferPointer(as: Float.self) { v in
                    for x in v where x.isFinite {
                        let b = Int(((x - lo) * inv).rounded(.down))
                        counts[b < 0 ? 0 : (b > last ? last : b)] += 1
                    }
                } 
                for b in 0..<bins where counts[b] != 0 { s.histogram[b] += Double(counts[b]) }
                stats[name] = s
            }
        }
        return stats
    }

    /// (channels, elements per channel per outer index, outer count): NCHW channels are axis
    /// 1; 2-/3-D tensors (tokens × features) use the last axis.
    static func channelLayout(_ dims: [Int]) -> (Int, Int, Int) {
        if dims.count >= 4 {
            return (dims[1], dims.dropFirst(2).reduce(1, *), dims[0])
        }
        guard let last = dims.last, last > 0 else { return (1, dims.reduce(1, *), 1) }
        return (last, 1, dims.reduce(1, *) / last)
    }
}
