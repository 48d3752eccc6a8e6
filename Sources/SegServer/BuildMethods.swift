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
        let slim = archName == Self.slimArchitecture
        guard slim || Architecture(rawValue: archName) != nil else {
            throw ResponseError.invalidParams("params.\(ArchitectureError.unknownArchitecture(archName)), or \(Self.slimArchitecture) (the teacher at a width)")
        }
        if p.criterion != nil && !slim { throw ResponseError.invalidParams("params.criterion: only for arch \(Self.slimArchitecture)") }
        let overwrite = p.overwrite ?? false
        let path = try FilePaths.outputFile(outputPath, field: "params.outputPath", overwrite: overwrite, createDirectory: false)

        var classes = p.classes
        var input: StudentSpec.Input = StudentSpec.defaultInput
        if let s = p.inputSize { input = s.count == 2 ? .fixed(height: s[0], width: s[1]) : .dynamic }
        var metadata: [String: String] = [:]
        var teacher: TeacherFacts? = nil
        if let teacherName = p.teacher {
            let facts = try await TeacherFacts.read(teacherName, models: models)
            if let given = classes, let known = facts.classes, given != known {
                throw ResponseError.invalidParams("params.classes: \(given), but the teacher \(facts.label) has \(known) classes")
            }
            guard let count = classes ?? facts.classes else {
                throw ResponseError.invalidParams("params.classes: the teacher \(facts.label) does not say how many classes it has; give classes")
            }
            classes = count
            metadata = facts.metadata
            if p.inputSize == nil, let size = facts.inputSize { input = .fixed(height: size.height, width: size.width) }
            if case .fixed = input { metadata["segslim.input_size"] = nil }
            metadata["segslim.teacher"] = facts.label
            teacher = facts
        }
        guard let classes else { throw ResponseError.invalidParams("params.classes: required without a teacher") }
        if metadata["segslim.mean"] == nil { metadata["segslim.mean"] = Self.jsonArray(Preprocessing.imagenetMean) }
        if metadata["segslim.std"] == nil { metadata["segslim.std"] = Self.jsonArray(Preprocessing.imagenetStd) }
        if metadata["segslim.classes"] == nil { metadata["segslim.classes"] = Self.jsonStrings((0..<classes).map { "class \($0)" }) }
        metadata["segslim.version"] = SegSlimVersion.current

        let model: Model
        let width = p.width ?? 1
        let seed = p.seed ?? 0
        if slim {
            guard let teacher else { throw ResponseError.invalidParams("params.teacher: required for a slim student (the model it slims)") }
            if p.inputSize != nil { throw ResponseError.invalidParams("params.inputSize: a slim student keeps its teacher's input") }
            var slimmed = try await slimStudent(teacher.model, width: p.width, criterion: p.criterion, seed: p.seed)
            for (k, v) in metadata where slimmed.metadata[k] == nil || k == "segslim.version" { slimmed.metadata[k] = v }
            slimmed.metadata["segslim.teacher"] = teacher.label
            slimmed.metadata["segslim.architecture"] = Self.slimArchitecture
            slimmed.metadata["segslim.width"] = "\(width)"
            slimmed.metadata["segslim.criterion"] = p.criterion ?? "l1"
            model = slimmed
        } else {
            let spec = StudentSpec(architecture: Architecture(rawValue: archName) ?? .lrasppMobileNetV3Small, classes: classes, width: width,
                                   input: input, seed: UInt64(seed), metadata: metadata)
            do { model = try StudentBuilder.build(spec) } catch { throw ResponseError.invalidParams("params.\(error)") }
        }
        try Task.checkCancellation()
        let bytes = try ONNX.encode(model)

        let id = try await models.reserve(requested: p.newId, base: Self.defaultID(for: URL(fileURLWithPath: path)))
        do {
            try await models.checkBudget(adding: Int64(bytes.count), for: id)
            let entry = try ResidentModel.make(id: id, path: path, model: model, fileBytes: Int64(bytes.count), derivedFrom: nil,
                                               preprocessing: .loaded(overrides: [:], file: path),
                                               cannotRun: { ResponseError(.internalError, "the built \(archName) cannot run: \($0)") })
            try OutputFiles.write(bytes, to: path, overwrite: overwrite, field: "params.outputPath")
            try await models.finishLoading(id, entry: entry)
            await models.recordFile(FileIdentity(path: path), for: id)
            Log.info("built \(archName) (\(classes) classes, width \(width), seed \(seed)) at \(path) as '\(id)'")
            var result = ModelBuildRequest.Result()
            result.model = ModelJSON.info(entry)
            result.path = path
            result.arch = archName
            result.classes = classes
            result.width = width
            result.seed = seed
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
