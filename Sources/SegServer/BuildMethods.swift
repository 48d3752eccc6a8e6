import Foundation
import SegArchitectures
import SegAutodiff
import SegGraph
import SegONNX
import SegPipeline
import SegProtocol
import SegReference

/// `model/build`: write an untrained student of a named architecture (SegArchitectures) with
/// the teacher's classes and preprocessing, and keep it resident like a loaded file.
extension ServerCore {
    static let buildMethods: [MethodHandler] = [
        .typed(ModelBuildRequest.self) { params, ctx in try await ctx.core.build(ctx, params) },
    ]

    func build(_ ctx: RequestContext, _ p: ModelBuildRequest.Params) async throws -> ModelBuildRequest.Result {
        if p.list == true {
            var result = ModelBuildRequest.Result()
            result.architectures = Self.architectureListing
            return result
        }
        guard let archName = p.arch, let outputPath = p.outputPath else { throw ResponseError.invalidParams("params.arch: required") }
        guard let arch = Architecture(rawValue: archName) else {
            throw ResponseError.invalidParams("params.\(ArchitectureError.unknownArchitecture(archName))")
        }
        let overwrite = p.overwrite ?? false
        let path = try FilePaths.outputFile(outputPath, field: "params.outputPath", overwrite: overwrite, createDirectory: false)

        var classes = p.classes
        var input: StudentSpec.Input = StudentSpec.defaultInput
        if let s = p.inputSize { input = s.count == 2 ? .fixed(height: s[0], width: s[1]) : .dynamic }
        var metadata: [String: String] = [:]
        if let teacherName = p.teacher {
            let teacher = try await TeacherFacts.read(teacherName, models: models)
            if let given = classes, let known = teacher.classes, given != known {
                throw ResponseError.invalidParams("params.classes: \(given), but the teacher \(teacher.label) has \(known) classes")
            }
            guard let count = classes ?? teacher.classes else {
                throw ResponseError.invalidParams("params.classes: the teacher \(teacher.label) does not say how many classes it has; give classes")
            }
            classes = count
            metadata = teacher.metadata
            if p.inputSize == nil, let size = teacher.inputSize { input = .fixed(height: size.height, width: size.width) }
            if case .fixed = input { metadata["segslim.input_size"] = nil }
            metadata["segslim.teacher"] = teacher.label
        }
        guard let classes else { throw ResponseError.invalidParams("params.classes: required without a teacher") }
        if metadata["segslim.mean"] == nil { metadata["segslim.mean"] = Self.jsonArray(Preprocessing.imagenetMean) }
        if metadata["segslim.std"] == nil { metadata["segslim.std"] = Self.jsonArray(Preprocessing.imagenetStd) }
        if metadata["segslim.classes"] == nil { metadata["segslim.classes"] = Self.jsonStrings((0..<classes).map { "class \($0)" }) }
        metadata["segslim.version"] = SegSlimVersion.current

        let spec = StudentSpec(architecture: arch, classes: classes, width: p.width ?? 1, input: input, seed: UInt64(p.seed ?? 0),
                               metadata: metadata)
        let model: Model
        do { model = try StudentBuilder.build(spec) } catch { throw ResponseError.invalidParams("params.\(error)") }
        try Task.checkCancellation()
        let bytes = try ONNX.encode(model)

        let id = try await models.reserve(requested: p.newId, base: Self.defaultID(for: URL(fileURLWithPath: path)))
        do {
            try await models.checkBudget(adding: Int64(bytes.count), for: id)
            let entry = try ResidentModel.make(id: id, path: path, model: model, fileBytes: Int64(bytes.count), derivedFrom: nil,
                                               preprocessing: .loaded(overrides: [:], file: path),
                                               cannotRun: { ResponseError(.internalError, "the built \(arch.rawValue) cannot run: \($0)") })
            try OutputFiles.write(bytes, to: path, overwrite: overwrite, field: "params.outputPath")
            try await models.finishLoading(id, entry: entry)
            await models.recordFile(FileIdentity(path: path), for: id)
            Log.info("built \(arch.rawValue) (\(classes) classes, width \(spec.width), seed \(spec.seed)) at \(path) as '\(id)'")
            var result = ModelBuildRequest.Result()
            result.model = ModelJSON.info(entry)
            result.path = path
            result.arch = arch.rawValue
            result.classes = classes
            result.width = spec.width
            result.seed = Int(spec.seed)
            result.trainableParameters = Self.trainableCount(model)
            return result
        } catch {
            try? await models.finishLoading(id, entry: nil)
            throw error
        }
    }

    static func trainableCount(_ model: Model) -> Int {
        TrainableParameters(model: model).names.reduce(0) { $0 + (model.graph.initializers[$1]?.elementCount ?? 0) }
    }

    /// Every architecture at 11 classes, width 1, 1×3×360×480; computed once.
    static let architectureListing: [ModelBuildRequest.Architecture] = Architecture.allCases.compactMap { arch in
        guard let model = try? StudentBuilder.build(StudentSpec(architecture: arch, classes: 11)),
              let inference = try? ShapeInference(model: model) else { return nil }
        let summary = ModelSummary(model: model, inference: inference)
        return ModelBuildRequest.Architecture(name: arch.rawValue, summary: arch.summary,
                                              widthRange: [arch.widthRange.lowerBound, arch.widthRange.upperBound],
                                              parameters: summary.parameters, trainableParameters: trainableCount(model), macs: summary.macs)
    }

    static func jsonArray(_ values: [Float]) -> String { "[" + values.map { "\($0)" }.joined(separator: ", ") + "]" }
    static func jsonStrings(_ values: [String]) -> String { JSONValue.array(values.map(JSONValue.string)).jsonString }
}
