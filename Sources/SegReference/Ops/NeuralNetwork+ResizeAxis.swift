#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SegTensor

/// Resize's per-node settings (attributes and the legacy defaults of Upsample / Resize-10).
struct ResizeOptions {
    enum Mode: String { case nearest, linear, cubic }
    var mode: Mode
    var coordinates = "half_pixel"
    /// round_prefer_floor, round_prefer_ceil, floor, ceil, or "simple" (opset < 11: truncate
    /// when upsampling, ceil when downsampling, as ORT does for Upsample and Resize-10).
    var nearest = "round_prefer_floor"
    var cubicA: Float = -0.75
    var excludeOutside = false
    var extrapolation: Float = 0
    var antialias = false

    static let coordinateModes: Set<String> = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                               "asymmetric", "tf_crop_and_resize"]
    static let nearestModes: Set<String> = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]
}

/// One axis of a separable resize: for every output position, the input taps and weights
/// (or nil: the extrapolation value, for tf_crop_and_resize outside the input).
struct ResizeAxis {
    var taps: [[(index: Int, weight: Float)]?]

    /// Source coordinate of output `o`, in f32 like ORT (`GetOriginalCoordinateFromResizedCoordinate`).
    static func source(_ o: Int, scale: Float, input: Int, output: Int, roi: (Float, Float), coordinates: String) -> Float {
        let x = Float(o), lo = Float(input), lr = Float(output)
        switch coordinates {
        case "asymmetric": return x / scale
        case "align_corners": return output == 1 ? 0 : x * (lo - 1) / (lr - 1)
        case "pytorch_half_pixel": return output > 1 ? (x + 0.5) / scale - 0.5 : 0
        case "tf_crop_and_resize":
            return output > 1 ? roi.0 * (lo - 1) + x * (roi.1 - roi.0) * (lo - 1) / (lr - 1) : 0.5 * (roi.0 + roi.1) * (lo - 1)
        case "half_pixel_symmetric":
            let adjustment = lr / (scale * lo)
            return lo / 2 * (1 - adjustment) + (x + 0.5) / scale - 0.5
        default: return (x + 0.5) / scale - 0.5
        }
    }

    init(input: Int, output: Int, scale: Float, roi: (Float, Float), options o: ResizeOptions) throws {
        guard input > 0 || output == 0 else { throw OpError.input(0, "cannot resize an empty axis to \(output)") }
        if o.mode != .nearest && o.antialias && scale < 1 && Float(o.mode == .cubic ? 4 : 2) / scale > Float(1 << 16) {
            throw OpError.unsupported("antialiased downscale by \(scale) needs too many taps")
        }
        let last = Float(input - 1)
        taps = try (0..<output).map { i throws -> [(index: Int, weight: Float)]? in
            let raw = Self.source(i, scale: scale, input: input, output: output, roi: roi, coordinates: o.coordinates)
            if o.coordinates == "tf_crop_and_resize" && (raw < 0 || raw > last) { return nil }
            guard raw.isFinite else { throw OpError.input(0, "resize coordinate is not finite (scale \(scale))") }
            // Far outside the input every tap reads the edge anyway; keeps Int conversions safe.
            let x = min(max(raw, -1e9), 1e9)
            switch o.mode {
            case .nearest: return [(Self.nearest(x, mode: o.nearest, downsampling: scale < 1, last: last), 1)]
            case .linear where !o.antialias:
                // ORT: clamp the coordinate, then blend its two neighbours (0.5/0.5 on the edge).
                let c = min(max(x, 0), last)
                let x1 = Int(c), x2 = min(x1 + 1, input - 1)
                return x1 == x2 ? [(x1, Float(0.5)), (x2, Float(0.5))] : [(x1, 1 - (c - Float(x1))), (x2, c - Float(x1))]
            default:
                return Self.filtered(x, input: input, scale: scale, options: o)
            }
        }
    }

    static func nearest(_ x: Float, mode: String, downsampling: Bool, last: Float) -> Int {
        let r: Float
        switch mode {
        case "round_prefer_ceil": r = x.rounded(.toNearestOrAwayFromZero)
        case "floor": r = x.rounded(.down)
        case "ceil": r = x.rounded(.up)
        case "simple": r = downsampling ? x.rounded(.up) : x.rounded(.towardZero)
        default: r = x == x.rounded(.towardZero) + 0.5 ? x.rounded(.down) : x.rounded(.toNearestOrAwayFromZero)
        }
        return Int(min(max(r, 0), max(last, 0)))
    }

    /// Cubic, and linear/cubic with antialias (reference definition): taps `base + j` around
    /// `x = base + ratio` (ratio in (0, 1]), weights `k((j − ratio) · min(scale, 1))`,
    /// normalised when antialiasing; taps outside the input read the edge, or are dropped and
    /// the rest renormalised with exclude_outside.
    static func filtered(_ x: Float, input: Int, scale: Float, options o: ResizeOptions) -> [(index: Int, weight: Float)] {
        let base = x.rounded(.up) - 1, ratio = x - base
        let s = o.antialias ? min(scale, 1) : 1
        let a = o.cubicA
        let support: Float = o.mode == .cubic ? 2 : 1
        let start = Int((-support / s).rounded(.down)) + 1
        let count = 2 - 2 * start
        guard count > 0 else { return [(0, 1)] }
        var taps: [(index: Int, weight: Float)] = []
        taps.reserveCapacity(count)
        for j in start..<(start + count) {
            let t = abs((Float(j) - ratio) * s)
            let w: Float
            if o.mode == .cubic {
                w = t <= 1 ? ((a + 2) * t - (a + 3)) * t * t + 1 : t < 2 ? ((a * t - 5 * a) * t + 8 * a) * t - 4 * a : 0
            } else {
                w = max(0, 1 - t)
            }
            let index = Int(base) + j
            if o.excludeOutside && (index < 0 || index >= input) { continue }
            taps.append((min(max(index, 0), input - 1), w))
        }
        if o.antialias || o.excludeOutside {
            let sum = taps.reduce(Float(0)) { $0 + $1.weight }
            if sum != 0 { taps = taps.map { ($0.index, $0.weight / sum) } }
        }
        return taps
    }

    /// Applies this axis to `data` of `dims` along `axis`; returns the new data.
    func apply<F: NNFloat>(_ data: [F], dims: [Int], axis: Int, extrapolation: F) -> [F] {
        let outer = dims[..<axis].reduce(1, *), inner = dims[(axis + 1)...].reduce(1, *), input = dims[axis]
        var out = [F](repeating: 0, count: outer * taps.count * inner)
        out.withUnsafeMutableBufferPointer { out in
            data.withUnsafeBufferPointer { src in
                for b in 0..<outer {
                    for (o, t) in taps.enumerated() {
                        let dst = (b * taps.count + o) * inner
                        guard let t else { for i in 0..<inner { out[dst + i] = extrapolation }; continue }
                        for (index, weight) in t {
                            let from = (b * input + index) * inner, w = F(weight)
                            for i in 0..<inner { out[dst + i] += w * src[from + i] }
                        }
                    }
                }
            }
        }
        return out
    }
}
