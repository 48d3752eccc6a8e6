import Foundation
import SegGraph
import SegPipeline
import SegProtocol
import SegReference

/// The one way a model becomes resident, for `model/load` and for the models `model/compress`
/// and `model/pipeline` make: checked runnable by the reference executor, summarised, given its
/// preprocessing and a compiled runner, and charged against the budget.
package enum ResidentModel {
    /// Where a resident model's preprocessing comes from.
    package enum PreprocessingSource {
        /// The file's `segslim.*` metadata and `model/load`'s overrides: invalid metadata, or
        /// overrides for a model that is not an image model, are errors.
        case loaded(overrides: [String: String], file: String)
        /// Metadata carried over from the model it was made from: kept when valid, else none
        /// (the model still runs, it only cannot segment).
        case derived
    }

    /// Bytes charged for a model besides its initializers and compiled plans: graph, summary
    /// and bookkeeping.
    package static let overheadBytes: Int64 = 4096

    /// A resident entry for `model`; `cannotRun` maps an error from the executor or shape
    /// inference (the model is not one we can run) to what the request answers.
    package static func make(id: String, path: String?, model: Model, fileBytes: Int64, derivedFrom: String?,
                     preprocessing source: PreprocessingSource, cannotRun: (any Error) -> ResponseError) throws -> ModelStore.Entry {
        try checkDeclaredInputs(model, file: path ?? id)
        let executor: ReferenceExecutor
        let inference: ShapeInference
        do {
            executor = try ReferenceExecutor(model: model)
            inference = try ShapeInference(model: model)
        } catch {
            throw cannotRun(error)
        }
        let summary = ModelSummary(model: model, inference: inference)
        let pre: Preprocessing?
        switch source {
        case .loaded(let overrides, let file): pre = try preprocessing(model, summary, overrides: overrides, file: file)
        case .derived: pre = try? preprocessing(model, summary, overrides: [:], file: id)
        }
        return ModelStore.Entry(
            id: id, path: path, model: model, summary: summary, executor: executor, runner: CompiledRunner(model: model),
            preprocessing: pre, fileBytes: fileBytes, modelBytes: Int64(model.graph.initializers.byteCount) + overheadBytes,
            loadedAt: Date(), derivedFrom: derivedFrom)
    }

    /// Most elements a declared input may have (2^30: 4 GiB as float). Beyond it the shapes
    /// computed from it overflow or the first run cannot be allocated; the file is wrong.
    package static let maxDeclaredInputElements = 1 << 30

    /// Refuses fixed input shapes no run could serve (negative, or more elements than
    /// `maxDeclaredInputElements`), naming the input.
    static func checkDeclaredInputs(_ model: Model, file: String) throws(ResponseError) {
        for input in model.graph.runtimeInputs {
            guard let shape = input.type?.shape else { continue }
            var elements = 1
            for dim in shape {
                guard case .value(let v) = dim else { continue }
                let text = shape.map(\.description).joined(separator: "×")
                guard v >= 0 else { throw ResponseError(.invalidModel, "\(file): input '\(input.name)' declares a negative size (\(text))") }
                let (product, overflow) = elements.multipliedReportingOverflow(by: v)
                guard !overflow, product <= maxDeclaredInputElements else {
                    throw ResponseError(.invalidModel, "\(file): input '\(input.name)' declares \(text), over \(maxDeclaredInputElements) elements; no run could hold it")
                }
                elements = product
            }
        }
    }

    /// Image-in, mask-out preprocessing (SegPipeline's `ImageModel` decides what is an image
    /// model); nil for other models, which still load and run but cannot segment images.
    static func preprocessing(_ model: Model, _ summary: ModelSummary, overrides: [String: String], file: String) throws -> Preprocessing? {
        if let problem = ImageModel.inputProblem(summary) {
            if !overrides.isEmpty { throw ResponseError.invalidParams("params.preprocessing: \(file) is not an image model (one 4-D float input): \(problem)") }
            return nil
        }
        do {
            return try ImageModel.preprocessing(model, summary: summary, overrides: overrides)
        } catch {
            throw ResponseError(overrides.isEmpty ? .invalidModel : .invalidParams, "\(overrides.isEmpty ? file : "params.preprocessing"): \(error)")
        }
    }
}
