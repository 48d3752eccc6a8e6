import Foundation
import SegAutodiff
import SegGraph
import SegONNX
import SegPipeline
import SegProtocol
import SegReference
import SegTensor
import SegTrain

/// A distillation's teacher and loss terms, checked against the student before any work
/// starts: the same input (channels and preprocessing), the same classes, and feature pairs
/// that name tensors both graphs compute. The teacher runs in inference on the compiled
/// runtime (BatchNorm with running statistics, no gradients), once per batch.
struct DistillationSetup: @unchecked Sendable {
    /// Loss terms besides the task loss, with their weights.
    let terms: [(weight: Double, loss: any TrainingLoss)]
    let taskWeight: Double
    let teacherLabel: String
    /// Teacher outputs for a batch of (already normalised) student inputs, keyed as the losses
    /// read them: the logits under the student's logits name, features under the teacher's names.
    let forward: (FloatTensor) async throws -> [String: FloatTensor]
    let describe: String

    static func make(_ p: ModelTrainRequest.Params, student: TrainingSource, server: ServerCore) async throws -> DistillationSetup? {
        guard let reference = p.teacher else { return nil }
        let d = p.distillation ?? .init()
        let (label, teacher, teacherPreprocessing) = try await resolveTeacher(reference, server: server)
        // Both graphs' shapes at one probe size (the crop, else a declared size), the teacher with
        // its baked Resize targets made relative so a fixed-size export follows the probe.
        let relativeTeacher = RelativeResizeSizes.rewrite(teacher)
        let probe = probeShape(p, student.model, teacher)
        let studentShapes = try inferShapes(RelativeResizeSizes.rewrite(student.model), probe: probe, what: "the student '\(student.id)'")
        let teacherShapes = try inferShapes(relativeTeacher, probe: probe, what: "the teacher \(label)")
        // Same input: one image tensor with the same channels and normalisation.
        guard let sIn = student.model.graph.runtimeInputs.first, let tIn = teacher.graph.runtimeInputs.first,
              teacher.graph.runtimeInputs.count == 1 else {
            throw ResponseError.invalidParams("params.teacher: \(label) has \(teacher.graph.runtimeInputs.count) inputs; distillation needs one image input like the student's")
        }
        if let s = sIn.type?.shape, let t = tIn.type?.shape, s.count != t.count || (s.count >= 2 && s[1] != t[1] && s[1] != .unknown && t[1] != .unknown) {
            throw ResponseError.invalidParams("params.teacher: \(label) takes input \(t.map(\.description)) and the student \(s.map(\.description)); their rank and channels must match")
        }
        // Same classes: the logits' channel axis.
        guard let sOut = student.model.graph.outputs.first?.name, let tOut = teacher.graph.outputs.first?.name else {
            throw ResponseError.invalidParams("params.teacher: \(label) or the student has no outputs")
        }
        let sClasses = studentShapes.types[sOut]?.concreteDims.flatMap { $0.count >= 2 ? $0[1] : nil }
        let tClasses = teacherShapes.types[tOut]?.concreteDims.flatMap { $0.count >= 2 ? $0[1] : nil }
        if let s = sClasses, let t = tClasses, s != t {
            throw ResponseError.invalidParams("params.teacher: \(label) predicts \(t) classes ('\(tOut)') and the student \(s) ('\(sOut)'); distillation needs the same classes")
        }
        if let s = student.preprocessing?.classes, let t = teacherPreprocessing?.classes, !s.isEmpty, !t.isEmpty, s != t {
            throw ResponseError.invalidParams("params.teacher: \(label)'s classes \(t) differ from the student's \(s)")
        }

        if let s = student.preprocessing, let t = teacherPreprocessing, s.mean != t.mean || s.std != t.std || s.scale != t.scale || s.bgr != t.bgr {
            throw ResponseError.invalidParams("params.teacher: \(label) normalises its input with mean \(t.mean), std \(t.std)\(t.bgr ? " (BGR)" : ""); the student with mean \(s.mean), std \(s.std)\(s.bgr ? " (BGR)" : ""): the teacher would see images it was not trained on")
        }

        var terms: [(weight: Double, loss: any TrainingLoss)] = []
        let logitWeight = d.logitWeight ?? 0
        let teacherRight = d.onlyWhereTeacherIsRight ?? false
        if logitWeight > 0 {
            terms.append((logitWeight, DistillationLoss(.hinton, temperature: Float(d.logitTemperature ?? ModelTrainRequest.Distillation.defaultLogitTemperature),
                                                        onlyWhereTeacherIsRight: teacherRight)))
        }
        let cwdWeight = d.channelWiseWeight ?? ModelTrainRequest.Distillation.defaultChannelWiseWeight
        if cwdWeight > 0 {
            terms.append((cwdWeight, DistillationLoss(.channelWise,
                                                      temperature: Float(d.channelWiseTemperature ?? ModelTrainRequest.Distillation.defaultChannelWiseTemperature),
                                                      onlyWhereTeacherIsRight: teacherRight)))
        }
        var teacherFeatures: [String] = []
        for (i, pair) in (d.features ?? []).enumerated() {
            let field = "params.distillation.features[\(i)]"
            guard let sDims = studentShapes.types[pair.student]?.concreteDims, student.model.graph.nodes.contains(where: { $0.outputs.contains(pair.student) }) else {
                throw ResponseError.invalidParams("\(field).student: the student computes no tensor '\(pair.student)' (name a node output as onnx or Netron shows it)")
            }
            guard let tDims = teacherShapes.types[pair.teacher]?.concreteDims else {
                throw ResponseError.invalidParams("\(field).teacher: \(label) computes no tensor '\(pair.teacher)'")
            }
            guard sDims.count == 4, tDims.count == 4 else {
                throw ResponseError.invalidParams("\(field): feature pairs must be N×C×H×W maps; '\(pair.student)' is \(sDims), '\(pair.teacher)' is \(tDims)")
            }
            guard sDims[2...] == tDims[2...] else {
                throw ResponseError.invalidParams("\(field): '\(pair.student)' is \(sDims[2])×\(sDims[3]) and '\(pair.teacher)' is \(tDims[2])×\(tDims[3]) at the declared input size; pair tensors of the same stride")
            }
            teacherFeatures.append(pair.teacher)
            terms.append((pair.weight ?? 1, FeatureDistillationLoss(student: pair.student, teacher: pair.teacher, studentChannels: sDims[1],
                                                                    teacherChannels: tDims[1], seed: UInt64(p.seed ?? 0) &+ UInt64(i))))
        }

        // The teacher at any batch and crop size: baked Resize targets follow the tensors they
        // were traced from (as for training the student), and only the outputs distillation
        // reads are computed.
        var runnable = relativeTeacher.cut(at: [tOut] + teacherFeatures)
        for i in runnable.graph.inputs.indices where runnable.graph.inputs[i].name == tIn.name {
            // Batch and spatial axes free; the element type and channels stay declared.
            if var type = runnable.graph.inputs[i].type, let shape = type.shape, shape.count == 4 {
                type.shape = [.param("batch"), shape[1], .param("height"), .param("width")]
                runnable.graph.inputs[i].type = type
            }
        }
        let prepared = try TechniqueRunner(threads: p.threads).prepare(runnable)
        let inputName = tIn.name
        let forward: (FloatTensor) async throws -> [String: FloatTensor] = { images in
            let outputs: [String: Tensor]
            do {
                outputs = try prepared.run([inputName: try Tensor(dims: images.dims, scalars: images.scalars)])
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw ResponseError(.trainingFailed, "the teacher \(label) failed on a \(images.dims) batch: \(error)")
            }
            var result: [String: FloatTensor] = [:]
            for (name, t) in outputs { result[name == tOut ? sOut : name] = try FloatTensor(t, name: "teacher \(name)") }
            return result
        }
        if let decay = d.schedule.flatMap(ScheduledLoss.Decay.init(rawValue:)), decay != .constant {
            terms = terms.map { ($0.weight, ScheduledLoss($0.loss, decay: decay)) }
        }
        let taskWeight = d.taskWeight ?? 1
        let parts = ["task ×\(taskWeight)"] + terms.map { "\($0.loss.name) ×\($0.weight)" }
        return DistillationSetup(terms: terms, taskWeight: taskWeight, teacherLabel: label, forward: forward,
                                 describe: "distilled from \(label): " + parts.joined(separator: " + "))
    }

    /// A resident model by id, else an ONNX file by path.
    static func resolveTeacher(_ reference: String, server: ServerCore) async throws -> (String, Model, Preprocessing?) {
        if let entry = try? await server.models.entry(id: reference) {
            return ("'\(entry.id)'", entry.model, entry.preprocessing)
        }
        let path = FilePaths.absolute(reference)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ResponseError(.fileNotFound, "params.teacher: '\(reference)' is neither a resident model id nor an ONNX file (\(path) does not exist)")
        }
        let model: Model
        do { model = try ONNX.load(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelErrors.response(for: error, file: path)
        }
        return (path, model, try? Preprocessing(model: model, numClasses: nil))
    }

    /// 1×C×H×W at the training crop, else at a size one of the models declares, else 256×256.
    static func probeShape(_ p: ModelTrainRequest.Params, _ models: Model...) -> [Int] {
        let declared = models.compactMap { $0.graph.runtimeInputs.first?.type?.concreteDims }.first { $0.count == 4 }
        var channels = declared?[1] ?? 3
        if let shape = models.first?.graph.runtimeInputs.first?.type?.shape, shape.count == 4, case .value(let c) = shape[1] { channels = c }
        if let crop = p.crop, crop.count == 2 { return [1, channels, crop[0], crop[1]] }
        return declared.map { [1, $0[1], $0[2], $0[3]] } ?? [1, channels, 256, 256]
    }

    static func inferShapes(_ model: Model, probe: [Int], what: String) throws -> ShapeInference {
        let inputs = model.graph.runtimeInputs.first.map { [$0.name: probe] } ?? [:]
        do { return try ShapeInference(model: model, inputShapes: inputs) } catch {
            throw ResponseError.invalidParams("params.teacher: cannot infer the shapes of \(what): \(error)")
        }
    }
}
