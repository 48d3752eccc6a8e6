import Foundation
import SegGraph
import SegImaging
import SegKernels
import SegReference
import SegTensor

/// A mask-classification head (MaskFormer, Mask2Former): Q queries, each with class logits over
/// C classes plus a last "no object" column, [B, Q, C+1], and a mask logit map, [B, Q, h, w].
///
/// Semantic inference is Mask2Former's: the mask logits are resized (bilinear, half-pixel, as
/// `F.interpolate(..., align_corners=False)`) to the image's size, then
/// `score[c, y, x] = Σ_q softmax(class_logits[q])[c] · sigmoid(mask[q, y, x])` for c < C (the
/// no-object column dropped after the softmax), and the map is the first maximum over c.
///
/// A model is one when its metadata says `segslim.task = mask_classification` (its rank-3 and
/// rank-4 outputs are then the two heads), or, undeclared, when it has exactly two outputs, one
/// [B, Q, K] with K ≥ 2 and one [B, Q, h, w] with the same known Q.
package struct MaskClassification: Sendable, Equatable {
    package static let metadataKey = "segslim.task"
    package static let metadataValue = "mask_classification"

    /// The [B, Q, C+1] output.
    package var classLogits: String
    /// The [B, Q, h, w] output.
    package var maskLogits: String
    /// C (without no-object), when the class output's last dim is known.
    package var classes: Int?
    /// Whether the metadata declared it (else recognised by shape).
    package var declared: Bool

    package init(classLogits: String, maskLogits: String, classes: Int?, declared: Bool) {
        self.classLogits = classLogits
        self.maskLogits = maskLogits
        self.classes = classes
        self.declared = declared
    }

    /// The head of a model with these outputs, or nil when it is not one.
    package static func detect(outputs: [ModelSummary.IO], metadata: [String: String] = [:]) -> MaskClassification? {
        detect(outputs.map { ($0.name, $0.shape) }, metadata: metadata)
    }

    /// The head of a model whose graph declares its output shapes (exports do).
    package static func detect(_ model: Model) -> MaskClassification? {
        detect(model.graph.outputs.map { ($0.name, $0.type?.shape) }, metadata: model.metadata)
    }

    static func detect(_ outputs: [(name: String, shape: [SegGraph.Dimension]?)], metadata: [String: String]) -> MaskClassification? {
        let declared = metadata[metadataKey] == metadataValue
        guard declared || outputs.count == 2,
              let cls = outputs.first(where: { $0.shape?.count == 3 }), let mask = outputs.first(where: { $0.shape?.count == 4 }),
              let cs = cls.shape, let ms = mask.shape else { return nil }
        let last: Int? = if case .value(let k) = cs[2] { k } else { nil }
        if !declared {
            guard case .value(let q1) = cs[1], case .value(let q2) = ms[1], q1 == q2, let last, last >= 2 else { return nil }
        }
        return MaskClassification(classLogits: cls.name, maskLogits: mask.name, classes: last.map { $0 - 1 }, declared: declared)
    }

    /// The class map of one image (batch 1) at `height`×`width`.
    package func semanticMap(classLogits cl: Tensor, maskLogits ml: Tensor, height dh: Int, width dw: Int,
                             context: KernelContext = .shared) throws -> Image {
        let cd = cl.dims, md = ml.dims
        guard cd.count == 3, md.count == 4, cd[0] == 1, md[0] == 1, cd[1] == md[1], cd[2] >= 2, md[2] > 0, md[3] > 0, dh > 0, dw > 0 else {
            throw PipelineError.model("mask classification needs class logits [1, Q, C+1] and mask logits [1, Q, h, w]; got '\(classLogits)' \(cd) and '\(maskLogits)' \(md)")
        }
        let queries = cd[1], classes = cd[2] - 1
        guard classes <= 256 else { throw PipelineError.model("\(classes) classes do not fit an 8-bit class map") }
        let probs = try Self.classProbabilities(try cl.converted(to: .f32).scalars(as: Float.self), queries: queries, classes: classes)
        let masks = try ml.converted(to: .f32)
        let plane = dh * dw
        var full = [Float](repeating: 0, count: queries * plane)
        do {
            try masks.withUnsafeBufferPointer(as: Float.self) { src in
                try full.withUnsafeMutableBufferPointer { dst in
                    try resize(.linear, coordinates: .halfPixel, input: src.baseAddress!, planes: queries, inHeight: md[2], inWidth: md[3],
                               output: dst.baseAddress!, outHeight: dh, outWidth: dw, context: context)
                }
            }
        } catch let e as KernelError {
            throw PipelineError.model("mask logits: \(e)")
        }
        var ids = [UInt8](repeating: 0, count: plane)
        full.withUnsafeBufferPointer { m in
            ids.withUnsafeMutableBufferPointer { out in
                let m = m.baseAddress!, out = out.baseAddress!
                context.pool.parallelFor(dh) { rows in
                    var sigmoid = [Float](repeating: 0, count: queries), score = [Float](repeating: 0, count: classes)
                    for y in rows {
                        for x in 0..<dw {
                            let p = y * dw + x
                            for q in 0..<queries { sigmoid[q] = 1 / (1 + exp(-m[q * plane + p])) }
                            for c in 0..<classes { score[c] = 0 }
                            for q in 0..<queries {
                                let s = sigmoid[q]
                                for c in 0..<classes { score[c] += probs[q * classes + c] * s }
                            }
                            var best = 0
                            for c in 1..<max(classes, 1) where score[c] > score[best] { best = c }
                            out[p] = UInt8(best)
                        }
                    }
                }
            }
        }
        return try Image(width: dw, height: dh, channels: 1, pixels: ids)
    }

    /// Softmax over each query's C+1 logits, the no-object column dropped: [Q, C].
    static func classProbabilities(_ logits: [Float], queries: Int, classes: Int) throws -> [Float] {
        var probs = [Float](repeating: 0, count: queries * classes)
        for q in 0..<queries {
            let row = logits[(q * (classes + 1))..<((q + 1) * (classes + 1))]
            let top = row.max() ?? 0
            let sum = row.reduce(Float(0)) { $0 + exp($1 - top) }
            for c in 0..<classes { probs[q * classes + c] = exp(row[row.startIndex + c] - top) / sum }
        }
        return probs
    }
}
