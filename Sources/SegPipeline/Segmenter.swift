import Foundation
import SegImaging
import SegKernels
import SegTensor

/// One image through a model: preprocessing, inference, and the class mask at the image's
/// own size. PaddleSeg's order: logits are resized (bilinear) to the original size before the
/// argmax, so masks agree with its predictions pixel for pixel.
package struct Segmenter: Sendable {
    package let runner: any ModelRunner
    package let preprocessing: Preprocessing
    /// Model output holding the class scores (or class ids): the first graph output.
    package let outputName: String
    /// Set when the model's outputs are a mask-classification head (class and mask logits),
    /// which replaces the per-pixel scores of `outputName`.
    package let maskClassification: MaskClassification?

    package init(runner: any ModelRunner, preprocessing: Preprocessing, outputName: String, maskClassification: MaskClassification? = nil) {
        self.runner = runner
        self.preprocessing = preprocessing
        self.outputName = outputName
        self.maskClassification = maskClassification
    }

    package struct Timings: Sendable {
        package var preprocessMs = 0.0
        package var inferMs = 0.0
        package var postprocessMs = 0.0
    }

    /// The part of output planes `[1, P, h, w]` (scores, mask logits, class ids) that covers
    /// the image in a padded input: cut straight from outputs at the input's size; others are
    /// first resized to it (bilinear for floats, nearest for ids), then cut, as Detectron2's
    /// Mask2Former does before resizing to the image.
    static func cropPadding(_ planes: Tensor, input: (height: Int, width: Int), content: (height: Int, width: Int)) throws -> Tensor {
        var d = planes.dims
        guard d.count == 3 || d.count == 4, d[0] == 1, d[d.count - 2] > 0, d[d.count - 1] > 0 else {
            throw PipelineError.model("cannot crop the padding from an output of shape \(d): expected [1, N, H, W] or [1, H, W]")
        }
        if d.count == 3 { d.insert(1, at: 1) }
        let n = d[1], h = d[2], w = d[3]
        let isFloat = planes.dtype.isFloatingPoint
        var full: [Float]
        if h == input.height && w == input.width {
            full = try planes.converted(to: .f32).scalars(as: Float.self)
        } else {
            // Floats bilinear (half-pixel); class ids nearest, never a blend of two ids.
            let src = try planes.converted(to: .f32)
            full = [Float](repeating: 0, count: n * input.height * input.width)
            try src.withUnsafeBufferPointer(as: Float.self) { s in
                try full.withUnsafeMutableBufferPointer { o in
                    try resize(isFloat ? .linear : .nearestFloor, coordinates: isFloat ? .halfPixel : .asymmetric, input: s.baseAddress!,
                               planes: n, inHeight: h, inWidth: w, output: o.baseAddress!, outHeight: input.height, outWidth: input.width)
                }
            }
        }
        var out = [Float](repeating: 0, count: n * content.height * content.width)
        for p in 0..<n {
            for y in 0..<content.height {
                let from = (p * input.height + y) * input.width, to = (p * content.height + y) * content.width
                out[to..<(to + content.width)] = full[from..<(from + content.width)]
            }
        }
        let dims = planes.dims.count == 3 ? [1, content.height, content.width] : [1, n, content.height, content.width]
        let cropped = try Tensor(dims: dims, scalars: out)
        return isFloat ? cropped : try cropped.converted(to: planes.dtype)
    }

    /// Sliding-window inference over the preprocessed image (PaddleSeg's `is_slide`).
    package struct Slide: Sendable, Equatable {
        package var crop: (height: Int, width: Int)
        package var stride: (height: Int, width: Int)
        package init(crop: (Int, Int), stride: (Int, Int)) {
            self.crop = (crop.0, crop.1)
            self.stride = (stride.0, stride.1)
        }
        package static func == (a: Slide, b: Slide) -> Bool {
            a.crop == b.crop && a.stride == b.stride
        }
    }

    /// The class mask (1 channel, class ids) at the image's size.
    package func segment(_ input: Image, slide: Slide? = nil, isCancelled: () -> Bool = { false }) throws -> (mask: Image, timings: Timings) {
        var t = Timings()
        var clock = Date()
        func lap() -> Double { let now = Date(); defer { clock = now }; return now.timeIntervalSince(clock) * 1000 }

        let rgb = input.rgb()
        let (image, size, content) = try modelImage(rgb)
        // Padded, sliding and mask-classification inputs are assembled as buffers; the plain
        // case below normalises straight into the model's input.
        let chw = content == size && slide == nil && maskClassification == nil ? [] : try normalized(image, size: size)
        t.preprocessMs = lap()
        // Padded inputs: outputs keep only the image's part before going back to its size.
        let padded = content.height != size.height || content.width != size.width
        func unpadded(_ planes: Tensor) throws -> Tensor {
            padded ? try Self.cropPadding(planes, input: size, content: content) : planes
        }

        let mask: Image
        if let head = maskClassification {
            guard slide == nil else {
                throw PipelineError.model("sliding-window inference averages class scores; a mask-classification model runs on the whole image")
            }
            let x = try Tensor(dims: [1, 3, size.height, size.width], scalars: chw)
            let outputs = try runner.run([preprocessing.inputName: x], isCancelled: isCancelled)
            t.inferMs = lap()
            guard let cl = outputs[head.classLogits], let ml = outputs[head.maskLogits] else {
                throw PipelineError.model("the model did not produce outputs '\(head.classLogits)' and '\(head.maskLogits)'")
            }
            mask = try head.semanticMap(classLogits: cl, maskLogits: try unpadded(ml), height: rgb.height, width: rgb.width)
        } else if let slide {
            var logits = try slideInference(chw, height: size.height, width: size.width, slide: slide, isCancelled: isCancelled)
            t.inferMs = lap()
            if padded, case .scores(let scores) = logits.storage { logits = try Logits(try unpadded(scores)) }
            mask = try logits.mask(height: rgb.height, width: rgb.width)
        } else if padded {
            let x = try Tensor(dims: [1, 3, size.height, size.width], scalars: chw)
            let outputs = try runner.run([preprocessing.inputName: x], isCancelled: isCancelled)
            t.inferMs = lap()
            guard let y = outputs[outputName] else { throw PipelineError.model("the model did not produce output '\(outputName)'") }
            mask = try Logits(try unpadded(y)).mask(height: rgb.height, width: rgb.width)
        } else {
            // The image is normalised into the runtime's input slot, and the argmax reads the
            // scores where the runtime left them (no 2 MB or 7 MB copies per image).
            let pre = preprocessing
            mask = try runner.run(filling: pre.inputName, dims: [1, 3, size.height, size.width], { slot in
                try image.normalizeCHW(into: slot, mean: pre.mean, std: pre.std, scale: pre.scale, bgr: pre.bgr)
                t.preprocessMs += lap()
            }, isCancelled: isCancelled, reading: outputName) { view in
                t.inferMs = lap()
                switch view {
                case .tensor(let y):
                    return try Logits(y).mask(height: rgb.height, width: rgb.width)
                case .floats(let scores, let dims):
                    guard dims.count == 4, dims[0] == 1, dims[1] > 1 else {
                        return try Logits(Tensor(dims: dims, scalars: Array(scores))).mask(height: rgb.height, width: rgb.width)
                    }
                    return try Logits.mask(scores: scores, classes: dims[1], height: dims[2], width: dims[3],
                                           toHeight: rgb.height, width: rgb.width)
                }
            }
        }
        t.postprocessMs = lap()
        return (mask, t)
    }

    /// The picture the model sees: resized (when the model has a fixed size and asks for it);
    /// the input's size, and the top-left part of it the image fills (smaller than the input
    /// only when padding).
    func modelImage(_ input: Image) throws -> (image: Image, size: (height: Int, width: Int), content: (height: Int, width: Int)) {
        var image = input.rgb()
        let (size, content) = preprocessing.inputGeometry(height: image.height, width: image.width)
        if content.height != image.height || content.width != image.width {
            image = try image.resizedBilinear(width: content.width, height: content.height)
        }
        return (image, size, content)
    }

    /// The model's input for an image: resized, normalised, CHW; its size, and the part of it
    /// the image fills.
    func modelInput(_ input: Image) throws -> (chw: [Float], size: (height: Int, width: Int), content: (height: Int, width: Int)) {
        let (image, size, content) = try modelImage(input)
        return (try normalized(image, size: size), size, content)
    }

    /// CHW planes of `size`: the image normalised (BGR when the model asks) at the top left,
    /// zeros (the mean, once normalised) below and right of it.
    func normalized(_ image: Image, size: (height: Int, width: Int)) throws -> [Float] {
        var chw = [Float](repeating: 0, count: 3 * image.height * image.width)
        try chw.withUnsafeMutableBufferPointer {
            try image.normalizeCHW(into: $0, mean: preprocessing.mean, std: preprocessing.std, scale: preprocessing.scale, bgr: preprocessing.bgr)
        }
        let content = (height: image.height, width: image.width)
        if content.height != size.height || content.width != size.width {
            // Zeros (the mean, once normalised) below and right of the image.
            var padded = [Float](repeating: 0, count: 3 * size.height * size.width)
            for c in 0..<3 {
                for y in 0..<content.height {
                    let from = (c * content.height + y) * content.width, to = (c * size.height + y) * size.width
                    padded[to..<(to + content.width)] = chw[from..<(from + content.width)]
                }
            }
            chw = padded
        }
        return chw
    }

    /// The input tensor (`[1, 3, H, W]`, by input name) the model sees for an image: what
    /// calibration and BN re-estimation feed it.
    package func inputs(for image: Image) throws -> [String: Tensor] {
        let (chw, size, _) = try modelInput(image)
        return [preprocessing.inputName: try Tensor(dims: [1, 3, size.height, size.width], scalars: chw)]
    }

    func infer(_ chw: [Float], height: Int, width: Int, isCancelled: () -> Bool) throws -> Logits {
        let x = try Tensor(dims: [1, 3, height, width], scalars: chw)
        let outputs = try runner.run([preprocessing.inputName: x], isCancelled: isCancelled)
        guard let y = outputs[outputName] else { throw PipelineError.model("the model did not produce output '\(outputName)'") }
        return try Logits(y)
    }

    /// Windows of `crop` every `stride`, the last ones flush with the edge; overlapping
    /// logits are averaged.
    func slideInference(_ chw: [Float], height h: Int, width w: Int, slide: Slide, isCancelled: () -> Bool) throws -> Logits {
        let (ch, cw) = slide.crop, (sh, sw) = slide.stride
        guard ch > 0, cw > 0, sh > 0, sw > 0 else { throw PipelineError.model("slide crop and stride must be positive") }
        let rows = max(h - ch + sh - 1, 0) / sh + 1, cols = max(w - cw + sw - 1, 0) / sw + 1
        var sum: [Float] = [], count = [Float](repeating: 0, count: h * w), classes = 0
        for r in 0..<rows {
            for c in 0..<cols {
                let y2 = min(r * sh + ch, h), x2 = min(c * sw + cw, w)
                let y1 = max(y2 - ch, 0), x1 = max(x2 - cw, 0)
                let hh = y2 - y1, ww = x2 - x1
                var crop = [Float](repeating: 0, count: 3 * hh * ww)
                for k in 0..<3 { for y in 0..<hh { for x in 0..<ww { crop[(k * hh + y) * ww + x] = chw[(k * h + y1 + y) * w + x1 + x] } } }
                var l = try infer(crop, height: hh, width: ww, isCancelled: isCancelled)
                if l.height != hh || l.width != ww { l = try l.resized(height: hh, width: ww) }
                guard case .scores(let tensor) = l.storage else { throw PipelineError.model("sliding windows need class scores, not class ids") }
                if sum.isEmpty { classes = l.classes; sum = [Float](repeating: 0, count: classes * h * w) }
                let scores = try tensor.scalars(as: Float.self)
                for k in 0..<classes { for y in 0..<hh { for x in 0..<ww { sum[(k * h + y1 + y) * w + x1 + x] += scores[(k * hh + y) * ww + x] } } }
                for y in 0..<hh { for x in 0..<ww { count[(y1 + y) * w + x1 + x] += 1 } }
            }
        }
        for k in 0..<classes { for i in 0..<(h * w) { sum[k * h * w + i] /= max(count[i], 1) } }
        return Logits(classes: classes, height: h, width: w, storage: .scores(try Tensor(dims: [1, classes, h, w], scalars: sum)))
    }
}
