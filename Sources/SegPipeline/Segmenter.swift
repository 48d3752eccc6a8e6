import Foundation
import SegImaging
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
        let (chw, size) = try modelInput(rgb)
        t.preprocessMs = lap()

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
            mask = try head.semanticMap(classLogits: cl, maskLogits: ml, height: rgb.height, width: rgb.width)
        } else if let slide {
            let logits = try slideInference(chw, height: size.height, width: size.width, slide: slide, isCancelled: isCancelled)
            t.inferMs = lap()
            mask = try logits.mask(height: rgb.height, width: rgb.width)
        } else {
            // The argmax reads the scores where the runtime left them (no 7 MB copy per image).
            let x = try Tensor(dims: [1, 3, size.height, size.width], scalars: chw)
            mask = try runner.run([preprocessing.inputName: x], isCancelled: isCancelled, reading: outputName) { view in
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

    /// The model's input for an image: resized (when the model has a fixed size and asks for
    /// it), normalised, CHW; also the size it was resized to.
    func modelInput(_ input: Image) throws -> (chw: [Float], size: (height: Int, width: Int)) {
        var image = input.rgb()
        if preprocessing.resize == .stretch, let size = preprocessing.inputSize, size.height != image.height || size.width != image.width {
            image = try image.resizedBilinear(width: size.width, height: size.height)
        }
        var chw = try image.normalizedCHW(mean: preprocessing.mean, std: preprocessing.std, scale: preprocessing.scale)
        if preprocessing.bgr {
            let n = image.width * image.height
            for i in 0..<n { chw.swapAt(i, 2 * n + i) }
        }
        return (chw, (image.height, image.width))
    }

    /// The input tensor (`[1, 3, H, W]`, by input name) the model sees for an image: what
    /// calibration and BN re-estimation feed it.
    package func inputs(for image: Image) throws -> [String: Tensor] {
        let (chw, size) = try modelInput(image)
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
