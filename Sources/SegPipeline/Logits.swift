import SegImaging
import SegTensor

/// A model's segmentation output for one image: per-class scores [C, H, W], or class ids
/// [H, W] for models that end in an ArgMax.
struct Logits {
    enum Storage { case scores([Float]), ids([Int32]) }
    var classes: Int
    var height: Int
    var width: Int
    var storage: Storage

    init(classes: Int, height: Int, width: Int, storage: Storage) {
        self.classes = classes
        self.height = height
        self.width = width
        self.storage = storage
    }

    /// Accepts [1, C, H, W] scores (f32/f16), or [1, H, W] / [1, 1, H, W] integer class ids.
    init(_ y: Tensor) throws {
        let d = y.dims
        if y.dtype.isFloatingPoint, d.count == 4, d[0] == 1, d[1] > 1 {
            let f = try y.converted(to: .f32).scalars(as: Float.self)
            self.init(classes: d[1], height: d[2], width: d[3], storage: .scores(f))
            return
        }
        if !y.dtype.isFloatingPoint, y.dtype != .bool, (d.count == 3 && d[0] == 1) || (d.count == 4 && d[0] == 1 && d[1] == 1) {
            let ids = try y.converted(to: .i32).scalars(as: Int32.self)
            self.init(classes: 0, height: d[d.count - 2], width: d[d.count - 1], storage: .ids(ids))
            return
        }
        throw PipelineError.model("expected a [1, classes, H, W] float output or [1, H, W] class ids, got \(y.dtype)\(y.shape)")
    }

    /// Bilinear (half-pixel, align_corners=false) resize of every class plane.
    func resized(height dh: Int, width dw: Int) throws -> Logits {
        guard case .scores(let s) = storage else { throw PipelineError.model("cannot resize class ids bilinearly") }
        var out = [Float](repeating: 0, count: classes * dh * dw)
        let sy = Float(height) / Float(dh), sx = Float(width) / Float(dw)
        var x0s = [Int](repeating: 0, count: dw), x1s = x0s, fxs = [Float](repeating: 0, count: dw)
        for x in 0..<dw {
            let fx = max((Float(x) + 0.5) * sx - 0.5, 0)
            x0s[x] = min(Int(fx), width - 1); x1s[x] = min(x0s[x] + 1, width - 1); fxs[x] = fx - Float(x0s[x])
        }
        for y in 0..<dh {
            let fy = max((Float(y) + 0.5) * sy - 0.5, 0)
            let y0 = min(Int(fy), height - 1), y1 = min(y0 + 1, height - 1), wy = fy - Float(y0)
            for k in 0..<classes {
                let base = k * height * width
                for x in 0..<dw {
                    let a = s[base + y0 * width + x0s[x]], b = s[base + y0 * width + x1s[x]]
                    let c = s[base + y1 * width + x0s[x]], d = s[base + y1 * width + x1s[x]]
                    let top = a + (b - a) * fxs[x], bottom = c + (d - c) * fxs[x]
                    out[(k * dh + y) * dw + x] = top + (bottom - top) * wy
                }
            }
        }
        return Logits(classes: classes, height: dh, width: dw, storage: .scores(out))
    }

    /// Argmax over classes (first maximum wins, like numpy), at `height`×`width`.
    func mask(height dh: Int, width dw: Int) throws -> Image {
        switch storage {
        case .ids(let ids):
            var px = ids.map { UInt8(clamping: $0) }
            if height != dh || width != dw {
                let small = try Image(width: width, height: height, channels: 1, pixels: px)
                px = try small.resizedNearest(width: dw, height: dh).pixels
            }
            return try Image(width: dw, height: dh, channels: 1, pixels: px)
        case .scores:
            let l = (height == dh && width == dw) ? self : try resized(height: dh, width: dw)
            guard case .scores(let s) = l.storage else { throw PipelineError.model("unreachable") }
            let n = dh * dw
            var best = [Float](s[0..<n]), arg = [UInt8](repeating: 0, count: n)
            guard s.count >= max(classes, 1) * n else { throw PipelineError.model("class scores are shorter than \(classes)×\(dh)×\(dw)") }
            s.withUnsafeBufferPointer { sp in
                guard let base = sp.baseAddress else { return }
                best.withUnsafeMutableBufferPointer { bp in
                    arg.withUnsafeMutableBufferPointer { ap in
                        for k in 1..<max(classes, 1) {
                            let plane = base + k * n
                            let id = UInt8(clamping: k)
                            for i in 0..<n where plane[i] > bp[i] { bp[i] = plane[i]; ap[i] = id }
                        }
                    }
                }
            }
            return try Image(width: dw, height: dh, channels: 1, pixels: arg)
        }
    }
}
