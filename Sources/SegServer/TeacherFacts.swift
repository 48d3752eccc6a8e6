import Foundation
import SegGraph
import SegONNX
import SegPipeline
import SegProtocol
import SegReference

/// What a student takes from its teacher: the class count, the `segslim.*` preprocessing
/// (classes, palette, mean/std, ...) and the input size.
struct TeacherFacts {
    var label: String
    var model: Model
    var classes: Int?
    var metadata: [String: String]
    var inputSize: (height: Int, width: Int)?

    /// `name` is a model file or, when no such file exists, a resident model's id.
    static func read(_ name: String, models: ModelStore) async throws -> TeacherFacts {
        let field = "params.teacher"
        let abs = FilePaths.absolute(name)
        let model: Model
        let label: String
        if FileManager.default.fileExists(atPath: abs) {
            let path = try FilePaths.existingFile(name, field: field)
            do { model = try ONNX.load(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw ModelErrors.response(for: error, file: path)
            }
            label = path
        } else if let entry = try? await models.entry(id: name) {
            model = entry.model
            label = "'\(entry.id)'"
        } else {
            throw ResponseError(.fileNotFound, "\(field): no such file or resident model: \(name)")
        }
        let classes = outputChannels(model)
        let pre: Preprocessing
        do { pre = try Preprocessing(model: model, numClasses: classes) } catch {
            throw ResponseError(.invalidModel, "\(field): \(label): \(error)")
        }
        let named = model.metadata["segslim.classes"] != nil ? pre.classes.count : nil
        if let a = classes, let b = named, a != b {
            throw ResponseError(.invalidModel, "\(field): \(label) names \(b) classes but its output has \(a) channels")
        }
        var metadata = pre.metadata
        metadata["segslim.resize"] = nil
        return TeacherFacts(label: label, model: model, classes: classes ?? named, metadata: metadata, inputSize: pre.inputSize)
    }

    /// Channels of the first output (N×C×H×W), declared or inferred.
    static func outputChannels(_ model: Model) -> Int? {
        guard let output = model.graph.outputs.first else { return nil }
        if let dims = output.type?.shape, dims.count == 4, case .value(let c) = dims[1] { return c }
        guard let inference = try? ShapeInference(model: model), let dims = inference.types[output.name]?.shape,
              dims.count == 4, case .value(let c) = dims[1] else { return nil }
        return c
    }
}
