import Foundation
import SegONNX
import SegPipeline
import SegProtocol

/// `model/annotate`: a copy of a model that says what its classes are called (and coloured)
/// and how it normalizes images, so nothing about it has to be assumed again.
extension ServerCore {
    func annotateModel(_ p: ModelAnnotateRequest.Params) async throws -> ModelAnnotateRequest.Result {
        let entry = try await models.entry(id: p.id)
        guard let pre = entry.preprocessing else {
            let why = ImageModel.inputProblem(entry.summary) ?? ImageModel.requirement
            throw ResponseError.invalidParams("params.id: model '\(entry.id)' is not an image segmentation model, so it has no classes or normalization to record: \(why)")
        }
        var written: [String: String] = [:]
        if let source = p.classes {
            let labels = try await classLabels(source, field: "params.classes")
            try Self.check(labels, fits: ImageModel.classCount(entry.summary), model: entry.id, field: "params.classes")
            written["segslim.classes"] = Self.json(labels.names)
            written["segslim.palette"] = Self.json(labels.palette.map { $0.map(Int.init) })
        }
        if let mean = p.mean { written["segslim.mean"] = Self.json(mean) }
        if let std = p.std { written["segslim.std"] = Self.json(std) }
        // Nothing is written unless the result loads: the new values with what the model
        // already says must still make a valid preprocessing.
        var model = entry.model
        for (k, v) in pre.metadata where model.metadata[k] == nil { model.metadata[k] = v }
        for (k, v) in written { model.metadata[k] = v }
        do { _ = try ImageModel.preprocessing(model, summary: entry.summary) } catch {
            throw ResponseError.invalidParams("params: the annotated model would not load: \(error)")
        }
        let overwrite = p.overwrite ?? false
        let target = try FilePaths.outputFile(p.outputPath, field: "params.outputPath", overwrite: overwrite)
        let bytes: [UInt8]
        do { bytes = try ONNX.encode(model) } catch {
            throw ResponseError(.invalidModel, "cannot encode model '\(entry.id)': \(error)")
        }
        try OutputFiles.write(bytes, to: target, overwrite: overwrite, field: "params.outputPath")
        return .init(id: entry.id, path: target, sizeBytes: Int64(bytes.count), metadata: written)
    }

    /// Metadata values are JSON text, keys sorted so the same annotation writes the same bytes.
    static func json<T: Encodable>(_ value: T) -> String {
        (try? JSONValueEncoder().encode(value))?.jsonString ?? "null"
    }
}
