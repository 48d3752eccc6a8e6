import Foundation
import SegProtocol
import SegServer
import SegTensor
import Testing

/// Distillation through `model/train` and the `distill` / `finetune` techniques on the tiny
/// conv net: a teacher identical to the student gives zero distillation gradients (so a
/// distillation-only step changes nothing), a different teacher moves the student, feature
/// pairs train their adapters, and mismatched teachers are refused before any work.
@Suite struct DistillationMethodTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    func run(_ c: TestClient, _ id: Int64, model: String, image: URL) async throws -> Tensor {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-kd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let r = try await c.call(id, "model/run", ["id": .string(model), "inputs": ["image": ["npy": .string(image.path)]], "outputDir": .string(dir.path)])
        let path = try #require(r["result"]?["outputs"]?.arrayValue?.first?["path"]?.stringValue, "\(r)")
        return try Tensor(contentsOfNPY: URL(fileURLWithPath: path))
    }

    @Test func aTeacherEqualToTheStudentTeachesNothingAndAnotherOneMovesIt() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        _ = try await c.call(2, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "same"])
        let data = try TrainMethodTests.tinyDataset()
        let common: [String: JSONValue] = ["id": "m", "dataset": .string(data.path), "steps": 2, "batchSize": 2, "crop": [8, 8],
                                           "lr": 0.05, "optimizer": "sgd", "momentum": 0, "weightDecay": 0, "evalEvery": 0]
        // Only distillation losses, teacher == student: softmax(t) == softmax(s) up to the
        // rounding of two kernels (the teacher runs on the compiled runtime), so the loss and
        // every gradient are ~0 and plain SGD moves nothing measurable.
        var same = common
        same["teacher"] = "same"
        same["distillation"] = ["taskWeight": 0, "logitWeight": 1, "channelWiseWeight": 1]
        same["newId"] = "kd-same"
        let r = try await c.call(3, "model/train", .object(same))
        let report = try #require(r["result"]?["report"], "\(r)")
        #expect(report["teacher"] == "same")
        #expect(report["loss"]?.stringValue?.contains("channel_wise_kd") == true, "\(report)")
        #expect(report["finalLoss"]?.doubleValue.map { abs($0) < 1e-8 } == true, "\(report)")

        // A teacher that differs (trained on the task for a few steps) moves the student.
        let taught = try await c.call(4, "model/train", ["id": "m", "dataset": .string(data.path), "steps": 6, "batchSize": 2,
                                                        "crop": [8, 8], "lr": 0.1, "evalEvery": 0, "newId": "teacher"])
        #expect(taught["result"] != nil, "\(taught)")
        var other = common
        other["teacher"] = "teacher"
        other["distillation"] = ["taskWeight": 0, "channelWiseWeight": 1]
        other["newId"] = "kd-other"
        let moved = try await c.call(5, "model/train", .object(other))
        #expect((moved["result"]?["report"]?["finalLoss"]?.doubleValue ?? 0) > 0, "\(moved)")

        let image = data.appendingPathComponent("image.npy")
        try Data(try Tensor(dims: [1, 3, 8, 8], scalars: (0..<192).map { Float($0 % 13) / 6 - 1 }).npyBytes()).write(to: image)
        func maxDifference(_ a: Tensor, _ b: Tensor) throws -> Float {
            zip(try a.scalars(as: Float.self), try b.scalars(as: Float.self)).map { abs($0 - $1) }.max() ?? .infinity
        }
        let original = try await run(c, 6, model: "m", image: image)
        #expect(try maxDifference(try await run(c, 7, model: "kd-same", image: image), original) < 1e-5)
        #expect(try maxDifference(try await run(c, 8, model: "kd-other", image: image), original) > 1e-3)
    }

    @Test func featurePairsTrainAdaptersThatCheckpointAndAreNotWritten() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let data = try TrainMethodTests.tinyDataset()
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-kd-\(UUID().uuidString)")
        let out = dir.appendingPathComponent("student.onnx"), checkpoints = dir.appendingPathComponent("ckpt")
        let base: [String: JSONValue] = ["id": "m", "dataset": .string(data.path), "batchSize": 2, "crop": [8, 8], "lr": 0.05,
                                         "teacher": .string(Self.fixture("tiny_conv_seg.onnx")),
                                         "distillation": ["features": [["student": "r1", "teacher": "c1", "weight": 2]]],
                                         "checkpointDir": .string(checkpoints.path)]
        var first = base
        first["epochs"] = 1
        first["outputPath"] = .string(out.path)
        let r = try await c.call(2, "model/train", .object(first))
        let report = try #require(r["result"]?["report"], "\(r)")
        #expect(report["loss"]?.stringValue?.contains("feature_kd(r1→c1)") == true, "\(report)")
        // The written student has exactly the fixture's parameters: no adapter leaks into it.
        let info = try await c.call(3, "model/info", ["id": .string(try #require(r["result"]?["id"]?.stringValue))])
        let fixtureInfo = try await c.call(4, "model/info", ["id": "m"])
        #expect(info["result"]?["params"] == fixtureInfo["result"]?["params"], "\(info)")
        // Resuming reads the adapters back from the checkpoint.
        var resumed = base
        resumed["epochs"] = 2
        resumed["resumeFrom"] = .string(checkpoints.path)
        let r2 = try await c.call(5, "model/train", .object(resumed))
        #expect(r2["result"]?["report"]?["history"]?.arrayValue?.count == 2, "\(r2)")
        // A checkpoint written without adapters cannot be resumed with them.
        let plain = dir.appendingPathComponent("plain")
        _ = try await c.call(6, "model/train", ["id": "m", "dataset": .string(data.path), "epochs": 1, "batchSize": 2, "crop": [8, 8],
                                                "checkpointDir": .string(plain.path)])
        var mixed = base
        mixed["epochs"] = 2
        mixed["resumeFrom"] = .string(plain.path)
        let refused = try await c.call(7, "model/train", .object(mixed))
        #expect(refused.errorMessage.contains("adapter(r1→c1)"), "\(refused)")
    }

    @Test func mismatchedTeachersAreRefusedBeforeAnyWork() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let data = try TrainMethodTests.tinyDataset()
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-kd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func train(_ id: Int64, _ extra: [String: JSONValue]) async throws -> JSONValue {
            var p: [String: JSONValue] = ["id": "m", "dataset": .string(data.path), "steps": 1, "batchSize": 2, "crop": [8, 8]]
            for (k, v) in extra { p[k] = v }
            return try await c.call(id, "model/train", .object(p))
        }
        // Five classes against the student's three.
        let built = try await c.call(2, "model/build", ["arch": "lraspp-mobilenetv3-small", "classes": 5, "width": 0.5,
                                                       "outputPath": .string(dir.appendingPathComponent("five.onnx").path), "newId": "five"])
        #expect(built["result"] != nil, "\(built)")
        let classes = try await train(3, ["teacher": "five"])
        #expect(classes.errorCode == -32602, "\(classes)")
        #expect(classes.errorMessage.contains("5 classes") && classes.errorMessage.contains("3"), "\(classes)")

        // Another normalisation.
        let annotated = dir.appendingPathComponent("bgr.onnx")
        _ = try await c.call(4, "model/annotate", ["id": "m", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "outputPath": .string(annotated.path)])
        let norm = try await train(5, ["teacher": .string(annotated.path)])
        #expect(norm.errorCode == -32602 && norm.errorMessage.contains("normalises"), "\(norm)")

        let missing = try await train(6, ["teacher": .string(dir.appendingPathComponent("nope.onnx").path)])
        #expect(missing.errorCode == -33001 && missing.errorMessage.contains("params.teacher"), "\(missing)")
        let corrupt = dir.appendingPathComponent("corrupt.onnx")
        try Data([0x08, 0x07, 0x12, 0xFF, 0xFF]).write(to: corrupt)
        let bad = try await train(7, ["teacher": .string(corrupt.path)])
        #expect(bad["error"] != nil && bad.errorMessage.contains(corrupt.path), "\(bad)")
        let noTeacher = try await train(8, ["distillation": ["logitWeight": 1]])
        #expect(noTeacher.errorCode == -32602 && noTeacher.errorMessage.contains("params.teacher"), "\(noTeacher)")
        let feature = try await train(9, ["teacher": "m", "distillation": ["features": [["student": "nope", "teacher": "c1"]]]])
        #expect(feature.errorMessage.contains("features[0].student") && feature.errorMessage.contains("nope"), "\(feature)")
        let zero = try await train(10, ["teacher": "m", "distillation": ["taskWeight": 0, "channelWiseWeight": 0]])
        #expect(zero.errorMessage.contains("every loss weight is 0"), "\(zero)")
    }

    @Test func distillTechniqueTrainsAStudentFileAndRefusesAnUntrainableOne() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let data = try TrainMethodTests.tinyDataset()
        let r = try await c.call(2, "model/compress", ["id": "m", "technique": "distill", "dataset": .string(data.path), "newId": "kd",
                                                      "params": ["teacher": "m", "student": .string(Self.fixture("tiny_conv_seg.onnx")),
                                                                 "epochs": 1, "batchSize": 2, "crop": [8, 8], "scale": [1, 1], "kdLogits": 1]])
        let details = try #require(r["result"]?["report"]?["steps"]?.arrayValue?.first?["details"], "\(r)")
        #expect(details["teacher"] == "m")
        #expect(details["loss"]?.stringValue?.contains("hinton_kd") == true, "\(details)")
        // A student without trainable parameters (Mul/Add only) is refused by name.
        let untrainable = try await c.call(3, "model/compress", ["id": "m", "technique": "distill", "dataset": .string(data.path),
                                                                "params": ["teacher": "m", "student": .string(Self.fixture("tiny_seg.onnx")),
                                                                           "epochs": 1, "batchSize": 2, "crop": [8, 8]]])
        #expect(untrainable["error"] != nil && untrainable.errorMessage.contains("trainable"), "\(untrainable)")
        let noTeacher = try await c.call(4, "model/compress", ["id": "m", "technique": "distill", "dataset": .string(data.path), "params": [:]])
        #expect(noTeacher.errorCode == -32602 && noTeacher.errorMessage.contains("teacher"), "\(noTeacher)")
        let stray = try await c.call(5, "model/compress", ["id": "m", "technique": "finetune", "dataset": .string(data.path), "params": ["kdLogits": 1]])
        #expect(stray.errorMessage.contains("kdLogits"), "\(stray)")
    }

    /// A technique that trains keeps a checkpoint where asked; the same request again resumes.
    @Test func techniqueTrainingResumesFromItsCheckpointFolder() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let data = try TrainMethodTests.tinyDataset()
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-kd-ckpt-\(UUID().uuidString)")
        func finetune(_ id: Int64, epochs: Int) async throws -> JSONValue {
            try await c.call(id, "model/compress", ["id": "m", "technique": "finetune", "dataset": .string(data.path),
                                                   "params": ["epochs": .int(Int64(epochs)), "batchSize": 2, "crop": [8, 8], "lr": 0.05,
                                                              "checkpointDir": .string(folder.path)]])
        }
        let first = try await finetune(2, epochs: 1)
        let h1 = try #require(first["result"]?["report"]?["steps"]?.arrayValue?.first?["details"]?["history"]?.arrayValue, "\(first)")
        #expect(h1.count == 1)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("state.json").path))
        let second = try await finetune(3, epochs: 3)
        let details = try #require(second["result"]?["report"]?["steps"]?.arrayValue?.first?["details"], "\(second)")
        let h2 = try #require(details["history"]?.arrayValue)
        #expect(h2.count == 3)
        #expect(h2.first?["loss"] == h1.first?["loss"], "the first epoch is the checkpoint's, not run again")
        #expect(details["steps"] == 6)
    }
}
