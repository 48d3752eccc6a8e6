/// GridSample's sampling, for any number of spatial axes, as the spec's reference computes it.
///
/// Per spatial axis of size d, a normalised coordinate g maps to x = (g + 1)/2 · (d - 1) with
/// align_corners, else ((g + 1) · d - 1)/2. The valid range is [0, d-1] (aligned) or
/// [-0.5, d-0.5]; a coordinate outside it is clamped to [0, d-1] (border) or reflected into it
/// (reflection) before interpolating. Nearest rounds x half-to-even first. Linear reads floor(x)
/// and floor(x)+1 with weights 1-t and t (t = x - floor(x)); cubic reads floor(x)-1 ... floor(x)+2
/// with Keys' weights at A = -0.75. A tap outside the input reads 0 (zeros), the edge (border)
/// or its reflection. The axes are separable, so a point's taps are the product of per-axis taps.
///
/// The spec leaves non-finite coordinates undefined: a NaN coordinate gives NaN, and an infinite
/// or huge one reads what the nearest finite coordinate past the edge reads, so no input traps.
struct GridSampler<F: NNFloat> {
    let options: GridSampleOptions
    let batch: Int
    let channels: Int
    /// X's spatial sizes, outermost first (d1 ... dr).
    let spatial: [Int]
    /// Output points per batch item (D1_out · ... · Dr_out).
    let points: Int

    init(x: [Int], grid: [Int], options: GridSampleOptions) throws {
        self.options = options
        batch = x[0]
        channels = x[1]
        spatial = Array(x[2...])
        points = grid[1..<(grid.count - 1)].reduce(1, *)
        if points > 0 && batch > 0 && channels > 0, spatial.contains(0) {
            throw OpError.input(0, "X has an empty spatial axis (\(x)) but the grid asks for \(points) points")
        }
    }

    /// One axis's taps: input index (nil: outside, reads zero) and weight.
    typealias Tap = (index: Int?, weight: F)

    func run(_ x: [F], grid: [F]) -> [F] {
        let rank = spatial.count
        var strides = [Int](repeating: 1, count: rank)
        for a in stride(from: rank - 2, through: 0, by: -1) { strides[a] = strides[a + 1] * spatial[a + 1] }
        let plane = spatial.reduce(1, *)
        var out = [F](repeating: 0, count: batch * channels * points)
        var axisTaps = [[Tap]](repeating: [], count: rank)
        for n in 0..<batch {
            for p in 0..<points {
                let g = (n * points + p) * rank
                // The grid lists coordinates innermost axis first (x, y, z).
                for a in 0..<rank { axisTaps[a] = taps(grid[g + rank - 1 - a], size: spatial[a]) }
                if axisTaps.contains(where: { $0.contains { $0.weight.isNaN } }) {
                    for c in 0..<channels { out[(n * channels + c) * points + p] = .nan }
                    continue
                }
                var offsets: [Int] = [0], weights: [F] = [1]
                for a in 0..<rank {
                    var o2: [Int] = [], w2: [F] = []
                    for (o, w) in zip(offsets, weights) {
                        // A tap outside under zeros padding reads 0: it adds nothing.
                        for t in axisTaps[a] {
                            guard let i = t.index else { continue }
                            o2.append(o + i * strides[a])
                            w2.append(w * t.weight)
                        }
                    }
                    offsets = o2
                    weights = w2
                }
                for c in 0..<channels {
                    let base = (n * channels + c) * plane
                    var sum: F = 0
                    for (o, w) in zip(offsets, weights) { sum += w * x[base + o] }
                    out[(n * channels + c) * points + p] = sum
                }
            }
        }
        return out
    }

    /// The taps of one normalised coordinate on an axis of `size`.
    func taps(_ g: F, size d: Int) -> [Tap] {
        let size = F(d)
        var v = options.alignCorners ? (g + 1) / 2 * (size - 1) : ((g + 1) * size - 1) / 2
        guard !v.isNaN else { return [(nil, .nan)] }
        if options.mode == .nearest { v = v.rounded(.toNearestOrEven) }
        let (lo, hi): (F, F) = options.alignCorners ? (0, size - 1) : (-0.5, size - 0.5)
        if v < lo || v > hi {
            switch options.padding {
            case .zeros: v = min(max(v, -size - 4), 2 * size + 4)  // every tap is already outside
            case .border: v = min(max(v, 0), size - 1)
            case .reflection: v = Self.reflect(v, lo, hi)
            }
        }
        switch options.mode {
        case .nearest:
            return [(tapIndex(Int(v), size: d, lo, hi), 1)]
        case .linear:
            let f = v.rounded(.down), t = v - f, i = Int(f)
            return [(tapIndex(i, size: d, lo, hi), 1 - t), (tapIndex(i + 1, size: d, lo, hi), t)]
        case .cubic:
            let f = v.rounded(.down), t = v - f, i = Int(f)
            let w = Self.cubicWeights(t)
            return (0..<4).map { (tapIndex(i - 1 + $0, size: d, lo, hi), w[$0]) }
        }
    }

    /// Where an integer tap reads under the padding mode (nil: outside, zeros padding).
    func tapIndex(_ i: Int, size d: Int, _ lo: F, _ hi: F) -> Int? {
        if i >= 0 && i < d { return i }
        switch options.padding {
        case .zeros: return nil
        case .border: return min(max(i, 0), d - 1)
        case .reflection: return min(max(Int(Self.reflect(F(i), lo, hi)), 0), d - 1)
        }
    }

    /// Reflects `v` off the nearer bound until it lies in [lo, hi].
    static func reflect(_ v: F, _ lo: F, _ hi: F) -> F {
        let range = hi - lo
        guard range > 0 else { return lo }
        let past = v < lo ? lo - v : v - hi
        guard past > 0 else { return v }
        guard past.isFinite else { return lo }
        let folds = (past / range).rounded(.down)
        let r = min(max(past - folds * range, 0), range)
        let even = folds.truncatingRemainder(dividingBy: 2) == 0
        // An even number of folds leaves the point reflected once off the bound it crossed.
        return (v < lo) == even ? lo + r : hi - r
    }

    /// Keys' cubic convolution weights (A = -0.75) for taps at -1, 0, 1, 2 around fraction t.
    static func cubicWeights(_ t: F) -> [F] {
        let a: F = -0.75
        func near(_ s: F) -> F { ((a + 2) * s - (a + 3)) * s * s + 1 }              // |s| <= 1
        func far(_ s: F) -> F { ((a * s - 5 * a) * s + 8 * a) * s - 4 * a }          // 1 < |s| < 2
        return [far(t + 1), near(t), near(1 - t), far(2 - t)]
    }
}
