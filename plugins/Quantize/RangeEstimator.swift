import Foundation

/// Chooses each activation's clipping range `[low, high]` from its calibration statistics.
/// The range always contains 0 (so zero is exact, as padding needs) and becomes a u8 scale
/// and zero point in `QuantParams`.
enum RangeEstimator {
    static func range(_ s: TensorStatistics, method: QuantizeOptions.Calibration, percentile: Double) -> (low: Float, high: Float) {
        guard s.min.isFinite, s.max.isFinite else { return (0, 0) }
        let full = (Swift.min(s.min, 0), Swift.max(s.max, 0))
        guard method != .minmax, !s.histogram.isEmpty else { return full }
        let r: (Float, Float)
        switch method {
        case .minmax: r = full
        case .percentile: r = percentileRange(s, percentile)
        case .entropy: r = entropyRange(s)
        case .mse: r = mseRange(s)
        }
        return (Swift.min(r.0, 0), Swift.max(r.1, 0))
    }

    static func binCenter(_ s: TensorStatistics, _ b: Int) -> Float {
        let width = (s.histogramHigh - s.histogramLow) / Float(s.histogram.count)
        return s.histogramLow + (Float(b) + 0.5) * width
    }

    /// Cuts `(100 - p) %` of the values off each tail that lies away from zero.
    static func percentileRange(_ s: TensorStatistics, _ p: Double) -> (Float, Float) {
        let total = s.histogram.reduce(0, +)
        guard total > 0 else { return (s.min, s.max) }
        let tail = total * (100 - p) / 100
        let width = (s.histogramHigh - s.histogramLow) / Float(s.histogram.count)
        var low = s.min, high = s.max
        if s.min < 0 {
            var acc = 0.0
            for (b, c) in s.histogram.enumerated() { acc += c; if acc > tail { low = s.histogramLow + Float(b) * width; break } }
        }
        if s.max > 0 {
            var acc = 0.0
            for b in stride(from: s.histogram.count - 1, through: 0, by: -1) {
                acc += s.histogram[b]
                if acc > tail { high = s.histogramLow + Float(b + 1) * width; break }
            }
        }
        return (Swift.max(low, s.min), Swift.min(high, s.max))
    }

    /// Expected squared error of quantizing the histogram to 255 steps over `[a, b]`:
    /// rounding noise (step²/12) inside, the clipped distance outside.
    static func quantizationError(_ s: TensorStatistics, _ a: Float, _ b: Float) -> Double {
        let lo = Swift.min(a, 0), hi = Swift.max(b, 0)
        let step = Double(hi - lo) / 255
        guard step > 0 else { return .infinity }
        var err = 0.0
        let noise = step * step / 12
        for (i, c) in s.histogram.enumerated() where c > 0 {
            let x = Double(binCenter(s, i))
            if x < Double(lo) { err += c * (Double(lo) - x) * (Double(lo) - x) }
            else if x > Double(hi) { err += c * (x - Double(hi)) * (x - Double(hi)) }
            else { err += c * noise }
        }
        return err
    }

    /// Grid search over clipping each end (independently) to minimise `quantizationError`.
    static func mseRange(_ s: TensorStatistics) -> (Float, Float) {
        let fractions: [Float] = (0...40).map { 1 - Float($0) * 0.0225 }   // 1.0 … 0.1
        var best = (s.min, s.max), bestErr = quantizationError(s, s.min, s.max)
        let lows = s.min < 0 ? fractions.map { s.min * $0 } : [s.min]
        let highs = s.max > 0 ? fractions.map { s.max * $0 } : [s.max]
        // Coordinate descent: highs for the full low, then lows for that high, twice.
        for _ in 0..<2 {
            for h in highs {
                let e = quantizationError(s, best.0, h)
                if e < bestErr { bestErr = e; best.1 = h }
            }
            for l in lows {
                let e = quantizationError(s, l, best.1)
                if e < bestErr { bestErr = e; best.0 = l }
            }
        }
        return best
    }

    /// TensorRT's KL-divergence threshold: the clipping point whose quantized distribution is
    /// closest to the original. u8 activations are asymmetric, so a tensor that is (nearly)
    /// non-negative — post-ReLU, HardSwish — has its upper tail searched with 255 levels;
    /// a signed one is folded onto |x| with 128 levels, as TensorRT does for s8. The spike of
    /// exact zeros (ReLU) is left out: zero is always exact, and the spike otherwise dominates
    /// the divergence and drags the threshold down.
    static func entropyRange(_ s: TensorStatistics) -> (Float, Float) {
        let bins = s.histogram.count
        let absMax = Swift.max(abs(s.min), abs(s.max))
        guard absMax > 0 else { return (s.min, s.max) }
        let oneSided = s.min >= -0.25 * s.max
        let span = oneSided ? Swift.max(s.max, 1e-12) : absMax
        var folded = [Double](repeating: 0, count: bins)
        for (i, c) in s.histogram.enumerated() where c > 0 {
            let x = binCenter(s, i)
            if oneSided && x < 0 { continue }
            folded[Swift.min(Int(abs(x) / span * Float(bins)), bins - 1)] += c
        }
        folded[0] = 0
        let levels = oneSided ? 255 : 128
        guard bins > levels, folded.reduce(0, +) > 0 else { return (s.min, s.max) }
        var bestI = bins, bestKL = Double.infinity
        var i = levels
        while i <= bins {
            // P: the first i bins with the tail folded into the last one.
            var p = Array(folded[0..<i])
            p[i - 1] += folded[i...].reduce(0, +)
            let pTotal = p.reduce(0, +)
            guard pTotal > 0 else { i += 1; continue }
            // Q: i bins merged into `levels` groups; as TensorRT/MXNet, group sums from the
            // clipped histogram (outliers not included), spread over the bins where P is non-zero.
            var q = [Double](repeating: 0, count: i)
            for g in 0..<levels {
                let start = g * i / levels, end = (g + 1) * i / levels
                guard end > start else { continue }
                var sum = 0.0, nonEmpty = 0
                for k in start..<end { sum += folded[k]; if p[k] > 0 { nonEmpty += 1 } }
                guard nonEmpty > 0 else { continue }
                for k in start..<end where p[k] > 0 { q[k] = sum / Double(nonEmpty) }
            }
            let qTotal = q.reduce(0, +)
            var kl = 0.0
            for k in 0..<i where p[k] > 0 {
                let pk = p[k] / pTotal
                let qk = q[k] > 0 ? q[k] / qTotal : 1e-12
                kl += pk * log(pk / qk)
            }
            if kl < bestKL { bestKL = kl; bestI = i }
            i += Swift.max(1, bins / 512)
        }
        let threshold = Float(bestI) / Float(bins) * span
        return oneSided ? (s.min, Swift.min(s.max, threshold)) : (Swift.max(s.min, -threshold), Swift.min(s.max, threshold))
    }
}

/// u8 activation quantization: `x ≈ (q − zeroPoint) · scale`, `q ∈ 0…255`.
struct QuantParams: Sendable, Equatable {
    var scale: Float
    var zeroPoint: UInt8

    init(scale: Float, zeroPoint: UInt8) {
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    /// The range is widened to include 0; a degenerate range gets scale 1 (all values 0).
    init(low: Float, high: Float) {
        let lo = Swift.min(low, 0), hi = Swift.max(high, 0)
        guard hi > lo, (hi - lo).isFinite else { self.init(scale: 1, zeroPoint: 0); return }
        let scale = (hi - lo) / 255
        let zp = (-lo / scale).rounded(.toNearestOrEven)
        self.init(scale: scale, zeroPoint: UInt8(Swift.max(0, Swift.min(255, zp))))
    }
}
