import SegImaging
import SegKernels
import SegTensor

/// A model's segmentation output for one image: per-class scores [C, H, W] (kept as the f32
/// tensor the runtime returned, not copied), or class ids [H, W] for models that end in an ArgMax.
struct Logits {
    enum Storage { case scores(Tensor), ids([Int32]) }
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
            let f = y.dtype == .f32 ? y : try y.converted(to: .f32)
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

    /// Bilinear (half-pixel, align_corners=false) resize of every class plane: the runtime's
    /// Resize kernel, threaded.
    func resized(height dh: Int, width dw: Int) throws -> Logits {
        guard case .scores(let s) = storage else { throw PipelineError.model("cannot resize class ids bilinearly") }
        guard height > 0, width > 0, dh > 0, dw > 0, s.elementCount >= classes * height * width else {
            throw PipelineError.model("cannot resize \(classes)×\(height)×\(width) class scores to \(dh)×\(dw)")
        }
        var out = [Float](repeating: 0, count: classes * dh * dw)
        try s.withUnsafeBufferPointer(as: Float.self) { src in
            try out.withUnsafeMutableBufferPointer { dst in
                try resize(.linear, coordinates: .halfPixel, input: src.baseAddress!, planes: classes, inHeight: height, inWidth: width,
                           output: dst.baseAddress!, outHeight: dh, outWidth: dw)
            }
        }
        return Logits(classes: classes, height: dh, width: dw, storage: .scores(try Tensor(dims: [1, classes, dh, dw], scalars: out)))
    }

    /// Argmax over classes (first maximum wins, like numpy), at `height`×`width`. Scores are
    /// resized row by row inside the argmax, so full-size scores never exist in memory.
    func mask(height dh: Int, width dw: Int) throws -> Image {
        switch storage {
        case .ids(let ids):
            var px = ids.map { UInt8(clamping: $0) }
            if height != dh || width != dw {
                let small = try Image(width: width, height: height, channels: 1, pixels: px)
                px = try small.resizedNearest(width: dw, height: dh).pixels
            }
            return try Image(width: dw, height: dh, channels: 1, pixels: px)
        case .scores(let s):
            guard s.elementCount >= classes * height * width else {
                throw PipelineError.model("no class mask from \(classes)×\(height)×\(width) scores at \(dh)×\(dw)")
            }
            return try s.withUnsafeBufferPointer(as: Float.self) { scores in
                try Self.mask(scores: scores, classes: classes, height: height, width: width, toHeight: dh, width: dw)
            }
        }
    }

    /// The class mask from `classes` score planes of `height`×`width`, at `dh`×`dw`.
    static func mask(scores: UnsafeBufferPointer<Float>, classes: Int, height: Int, width: Int,
                     toHeight dh: Int, width dw: Int) throws -> Image {
        guard height > 0, width > 0, dh > 0, dw > 0, let base = scores.baseAddress, scores.count >= classes * height * width else {
            throw PipelineError.model("no class mask from \(classes)×\(height)×\(width) scores at \(dh)×\(dw)")
        }
        var ids = [UInt8](repeating: 0, count: dh * dw)
        do {
            try ids.withUnsafeMutableBufferPointer { dst in
                try classArgmax(scores: base, classes: classes, inHeight: height, inWidth: width,
                                into: dst.baseAddress!, outHeight: dh, outWidth: dw)
            }
        } catch let e as KernelError {
            throw PipelineError.model("class mask: \(e)")
        }
        return try Image(width: dw, height: dh, channels: 1, pixels: ids)
    }
}
