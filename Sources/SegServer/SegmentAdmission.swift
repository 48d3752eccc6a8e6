import Foundation
import SegImaging
import SegPipeline
import SegProtocol
import SegRuntime

/// Admission of one image into `model/segment`: its working set is estimated from the image's
/// header (nothing decoded yet) and the model's compiled plan for the size it will run at, and
/// charged against the daemon's memory budget until the image is done. A small file that
/// declares a huge image is refused with OutOfMemoryBudget instead of taking gigabytes.
extension ServerCore {
    /// Width, height of an encoded PNG or JPEG from its header; nil when the header cannot be
    /// read (the decoder then says why).
    static func declaredSize(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
        switch ImageFormat.sniff(bytes) {
        case .png: return (try? PNG.readInfo(bytes)).map { ($0.width, $0.height) }
        case .jpeg: return (try? JPEG.readInfo(bytes)).map { ($0.width, $0.height) }
        case nil: return nil
        }
    }

    /// Bytes one image of `width`×`height` holds while it is segmented, besides the compiled
    /// plan's arena (charged with the plan):
    /// - per image pixel: the decoded image (≤ 4 channels), two RGB copies (model input and
    ///   overlay), the mask, the overlay and their PNG encodings: 18 bytes;
    /// - per model-input pixel: the resized RGB, the normalised CHW floats and the input
    ///   tensor: 27 bytes, plus the output scores (4 bytes per class);
    /// - with a sliding window, the averaged scores at full size (4 bytes per class, plus a
    ///   count per pixel).
    package static func segmentWorkingSet(width: Int, height: Int, input: (height: Int, width: Int), window: (height: Int, width: Int),
                                  classes: Int, slide: Bool) -> Int64 {
        let pixels = Int64(width) * Int64(height)
        let inputPixels = Int64(input.height) * Int64(input.width)
        let windowPixels = Int64(window.height) * Int64(window.width)
        var bytes = pixels * 18 + inputPixels * 27 + windowPixels * Int64(classes) * 4
        if slide { bytes += inputPixels * (Int64(classes) + 1) * 4 }
        return bytes
    }

    /// Admits image `index` for segmenting with `entry`: compiles (without running) the plan
    /// for the size it will run at, so that plan's arena is known and charged, then admits the
    /// rest. Returns the bytes to release when the image is done (0 when its header cannot be
    /// read: decoding will fail with the reason). A plan compiled only for a refused image is
    /// dropped again.
    func admitSegment(_ bytes: [UInt8], index: Int, name: String, entry: ModelStore.Entry, segmenter: Segmenter,
                      slide: Segmenter.Slide?) async throws -> Int64 {
        guard let (width, height) = Self.declaredSize(bytes) else { return 0 }
        let pre = segmenter.preprocessing
        let input = pre.inputGeometry(height: height, width: width).input
        let window: (height: Int, width: Int) = slide.map { (min($0.crop.height, input.height), min($0.crop.width, input.width)) } ?? input
        let classes = max(ImageModel.classCount(entry.summary) ?? pre.classes.count, 1)
        let need = Self.segmentWorkingSet(width: width, height: height, input: input, window: window, classes: classes, slide: slide != nil)
        let shapes = [pre.inputName: [1, 3, window.height, window.width]]
        let compiledHere = !entry.runner.hasPlan(for: shapes)
        let plan: CompiledModel
        do {
            plan = try entry.runner.plan(for: shapes)
        } catch {
            throw Self.segmentError(error, entry: entry, image: index, name: name)
        }
        do {
            try await models.admit(need, for: "params.images[\(index)] (\(name), \(width)×\(height))",
                                   limit: configuration.maxRequestBytes, arenaBytes: Int64(plan.arenaBytes))
        } catch {
            if compiledHere { entry.runner.discardPlan(for: shapes) }
            throw error
        }
        return need
    }
}
