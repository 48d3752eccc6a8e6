import Foundation
import SegProtocol
import SegServer
import SegImaging
import SegTensor
import Testing

/// `model/train` through the daemon on a tiny conv net and a fixed batch: it learns, writes a
/// model that loads with its provenance, leaves the original alone, and refuses bad input
/// with the error kinds the protocol page promises.
@Suite struct TrainMethodTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    func tempDir() -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-train-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Images 2×3×8×8 and labels whose class follows the sign of the red channel: learnable.
    func batch(in dir: URL, badLabel: UInt8? = nil) throws -> (URL, URL) {
        var rng = SeededGenerator(seed: 7)
        let x = (0..<(2 * 3 * 64)).map { _ in Float.random(in: -1...1, using: &rng) }
        var y = [UInt8](repeating: 0, count: 2 * 64)
        for n in 0..<2 { for i in 0..<64 { y[n * 64 + i] = x[n * 192 + i] > 0 ? 1 : (i % 7 == 0 ? 255 : 2) } }
        if let badLabel { y[5] = badLabel }
        let xs = dir.appendingPathComponent("x.npy"), ys = dir.appendingPathComponent("y.npy")
        try Data(try Tensor(dims: [2, 3, 8, 8], scalars: x).npyBytes()).write(to: xs)
        try Data(try Tensor(dims: [2, 8, 8], scalars: y).npyBytes()).write(to: ys)
        return (xs, ys)
    }

    @Test func fixedBatchTrainingLearnsAndWritesTheModel() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let dir = tempDir()
        let (x, y) = try batch(in: dir)
        let out = dir.appendingPathComponent("trained.onnx")
        let first = try await c.call(2, "model/train", ["id": "m", "inputs": .string(x.path), "labels": .string(y.path), "steps": 1,
                                                       "optimizer": "adamw", "lr": 0.05, "newId": "one"])
        let firstLoss = try #require(first["result"]?["report"]?["finalLoss"]?.doubleValue, "\(first)")
        let r = try await c.call(3, "model/train", ["id": "m", "inputs": .string(x.path), "labels": .string(y.path), "steps": 60,
                                                   "optimizer": "adamw", "lr": 0.05, "schedule": "constant", "outputPath": .string(out.path)])
        let result = try #require(r["result"], "\(r)")
        let report = try #require(result["report"])
        #expect(report["steps"] == 60)
        #expect(report["history"]?.arrayValue?.count == 60)
        let lastLoss = try #require(report["history"]?.arrayValue?.last?["loss"]?.doubleValue)
        #expect(lastLoss < 0.5 * firstLoss, "loss \(firstLoss) → \(lastLoss)")
        #expect((report["stepMsP50"]?.doubleValue ?? 0) > 0)
        #expect(report["trainable"]?["tensors"] == 4)
        #expect(FileManager.default.fileExists(atPath: out.path + ".report.json"))
        #expect(report["curve"]?.stringValue == out.path + ".curve.png")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out.path + ".curve.png")).prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
        let reloaded = try await c.call(4, "model/load", ["path": .string(out.path), "id": "reloaded"])
        #expect(reloaded["result"]?["metadata"]?["segslim.technique"] == "train")
        // The original still computes what a fresh copy of the fixture computes; the trained
        // model computes something else.
        _ = try await c.call(5, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "fresh"])
        let image = dir.appendingPathComponent("image.npy")
        try Data(try Tensor(dims: [1, 3, 8, 8], scalars: (0..<192).map { Float($0 % 17) / 8 - 1 }).npyBytes()).write(to: image)
        var outputs: [String: Tensor] = [:]
        for (i, id) in ["m", "fresh", "reloaded"].enumerated() {
            let runDir = tempDir()
            let run = try await c.call(Int64(6 + i), "model/run", ["id": .string(id), "inputs": ["image": ["npy": .string(image.path)]],
                                                                   "outputDir": .string(runDir.path)])
            let path = try #require(run["result"]?["outputs"]?.arrayValue?.first?["path"]?.stringValue, "\(run)")
            outputs[id] = try Tensor(contentsOfNPY: URL(fileURLWithPath: path))
        }
        #expect(outputs["m"] == outputs["fresh"])
        #expect(outputs["m"] != outputs["reloaded"])
    }

    @Test func badRequestsAreRefusedWithTheirKinds() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        _ = try await c.call(2, "model/load", ["path": .string(Self.fixture("relu.onnx")), "id": "relu"])
        let dir = tempDir()
        let (x, y) = try batch(in: dir, badLabel: 9)
        let outOfRange = try await c.call(3, "model/train", ["id": "m", "inputs": .string(x.path), "labels": .string(y.path), "steps": 1])
        #expect(outOfRange["error"]?["code"] == -33010, "\(outOfRange)")
        #expect(outOfRange["error"]?["message"]?.stringValue?.contains("label value 9") == true, "\(outOfRange)")

        let missing = try await c.call(4, "model/train", ["id": "m", "inputs": .string(dir.appendingPathComponent("nope.npy").path),
                                                          "labels": .string(y.path)])
        #expect(missing["error"]?["code"] == -33001, "\(missing)")
        let both = try await c.call(5, "model/train", ["id": "m", "inputs": .string(x.path), "labels": .string(y.path), "dataset": "d"])
        #expect(both["error"]?["code"] == -32602)
        let badCrop = try await c.call(6, "model/train", ["id": "m", "dataset": "d", "crop": [2]])
        #expect(badCrop["error"]?["message"]?.stringValue?.contains("params.crop") == true, "\(badCrop)")
        let nothing = try await c.call(7, "model/train", ["id": "relu", "inputs": .string(x.path), "labels": .string(y.path)])
        #expect(nothing["error"]?["code"] == -33010, "\(nothing)")
        #expect(nothing["error"]?["message"]?.stringValue?.contains("no trainable parameters") == true, "\(nothing)")

        let exists = dir.appendingPathComponent("exists.onnx")
        try Data([1, 2, 3]).write(to: exists)
        let (gx, gy) = try batch(in: tempDir())
        let refused = try await c.call(8, "model/train", ["id": "m", "inputs": .string(gx.path), "labels": .string(gy.path), "steps": 1,
                                                          "outputPath": .string(exists.path)])
        #expect(refused["error"]?["code"] == -33008, "\(refused)")
        #expect(try Data(contentsOf: exists) == Data([1, 2, 3]))
        // The daemon still serves.
        #expect(try await c.call(9, "model/info", ["id": "m"])["result"] != nil)
    }

    /// A cancel mid-run answers RequestCancelled, writes the best model so far whole (with its
    /// report, marked cancelled), registers nothing, and the daemon serves on.
    @Test func cancelWritesTheBestModelSoFar() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let dir = tempDir()
        let (x, y) = try batch(in: dir)
        let out = dir.appendingPathComponent("cancelled.onnx")
        c.send(["jsonrpc": "2.0", "id": 2, "method": "model/train",
                "params": ["id": "m", "inputs": .string(x.path), "labels": .string(y.path), "steps": 10_000_000, "lr": 0.001,
                           "outputPath": .string(out.path), "workDoneToken": "t"]])
        _ = try await c.waitFor("a training progress report") { m in
            m.contains { $0["params"]?["token"] == "t" && $0["params"]?["value"]?["kind"] == "report" }
        }
        c.send(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":2}}"#)
        let r = try await c.response(2)
        #expect(r.errorCode == -32800, "\(r)")
        let report = try JSONParser.parse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: out.path + ".report.json")), as: UTF8.self))
        #expect(report["cancelled"] == true)
        #expect((report["steps"]?.intValue ?? 0) >= 1)
        let reloaded = try await c.call(3, "model/load", ["path": .string(out.path), "id": "after-cancel"])
        #expect(reloaded["result"]?["metadata"]?["segslim.technique"] == "train", "\(reloaded)")
        let list = try await c.call(4, "model/list")
        #expect(list["result"]?["models"]?.arrayValue?.count == 2, "\(list)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".segslim-tmp-") }
        #expect(leftovers.isEmpty)
    }

    /// A NaN in the data makes the loss NaN at the first step: a clear TrainingFailed that names
    /// the step, and nothing written.
    @Test func nonFiniteLossNamesTheStep() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let dir = tempDir()
        let (_, y) = try batch(in: dir)
        var values = [Float](repeating: 0.5, count: 2 * 3 * 64)
        values[17] = .nan
        let x = dir.appendingPathComponent("nan.npy")
        try Data(try Tensor(dims: [2, 3, 8, 8], scalars: values).npyBytes()).write(to: x)
        let out = dir.appendingPathComponent("nan.onnx")
        let r = try await c.call(2, "model/train", ["id": "m", "inputs": .string(x.path), "labels": .string(y.path), "steps": 3,
                                                   "outputPath": .string(out.path)])
        #expect(r.errorCode == -33010, "\(r)")
        #expect(r.errorMessage.contains("at step 1"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// A PaddleSeg-style dataset of small images whose class is the brightest channel.
    static func tinyDataset(train: Int = 4, val: Int = 2, side: Int = 16) throws -> URL {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-train-ds-\(UUID().uuidString)")
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("images"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("labels"), withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: 3)
        var lines: [String] = []
        for i in 0..<(train + val) {
            var rgb = [UInt8](repeating: 0, count: side * side * 3), label = [UInt8](repeating: 0, count: side * side)
            for p in 0..<(side * side) {
                let c = (0..<3).map { _ in UInt8.random(in: 0...255, using: &rng) }
                for k in 0..<3 { rgb[3 * p + k] = c[k] }
                label[p] = UInt8(c.firstIndex(of: c.max()!)!)
            }
            try Data(PNG.encode(try Image(width: side, height: side, channels: 3, pixels: rgb))).write(to: root.appendingPathComponent("images/\(i).png"))
            try Data(PNG.encode(try Image(width: side, height: side, channels: 1, pixels: label))).write(to: root.appendingPathComponent("labels/\(i).png"))
            lines.append("images/\(i).png labels/\(i).png")
        }
        try (lines.prefix(train).joined(separator: "\n") + "\n").write(to: root.appendingPathComponent("train.txt"), atomically: true, encoding: .utf8)
        try (lines.suffix(val).joined(separator: "\n") + "\n").write(to: root.appendingPathComponent("val.txt"), atomically: true, encoding: .utf8)
        try #"{"classes": ["red", "green", "blue"], "ignore_index": 255}"#.write(to: root.appendingPathComponent("dataset.json"), atomically: true, encoding: .utf8)
        return root
    }

    /// Training on a dataset: augmented crops, evaluation each epoch, checkpoints, and a resumed
    /// run that continues the same history and step count.
    @Test func datasetTrainingEvaluatesCheckpointsAndResumes() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let data = try Self.tinyDataset()
        let dir = tempDir()
        let checkpoints = dir.appendingPathComponent("ckpt")
        let first = try await c.call(2, "model/train", ["id": "m", "dataset": .string(data.path), "epochs": 2, "batchSize": 2,
                                                       "crop": [8, 8], "augmentation": ["scale": [0.75, 1.5]], "lr": 0.05,
                                                       "checkpointDir": .string(checkpoints.path), "newId": "e2"])
        let report = try #require(first["result"]?["report"], "\(first)")
        #expect(report["steps"] == 4)
        let history = try #require(report["history"]?.arrayValue)
        #expect(history.count == 2)
        #expect(history.allSatisfy { ($0["valMiou"]?.doubleValue).map { $0 >= 0 && $0 <= 1 } ?? false }, "\(history)")
        #expect(report["bestValMiou"]?.doubleValue == history.compactMap { $0["valMiou"]?.doubleValue }.max())
        for file in ["state.json", "model.onnx", "optimizer.onnx", "best.onnx"] {
            #expect(FileManager.default.fileExists(atPath: checkpoints.appendingPathComponent(file).path), "\(file)")
        }
        // The trained copy records the dataset's classes.
        #expect(try await c.call(3, "model/info", ["id": "e2"])["result"]?["metadata"]?["segslim.classes"] != nil)

        let resumed = try await c.call(4, "model/train", ["id": "m", "dataset": .string(data.path), "epochs": 3, "batchSize": 2,
                                                         "crop": [8, 8], "lr": 0.05, "resumeFrom": .string(checkpoints.path), "newId": "e3"])
        let r2 = try #require(resumed["result"]?["report"], "\(resumed)")
        #expect(r2["steps"] == 6)
        let h2 = try #require(r2["history"]?.arrayValue)
        #expect(h2.count == 3)
        #expect(h2.prefix(2).map { $0["loss"] } == history.map { $0["loss"] })

        let missing = try await c.call(5, "model/train", ["id": "m", "dataset": .string(data.path), "batchSize": 2, "resumeFrom": .string(dir.appendingPathComponent("none").path)])
        #expect(missing.errorCode == -33001, "\(missing)")
        let badSplit = try await c.call(6, "model/train", ["id": "m", "dataset": .string(data.path), "split": "nope"])
        #expect(badSplit.errorCode == -33005, "\(badSplit)")
    }

    /// The `finetune` technique trains through `TechniqueContext.trainer` on the compress
    /// request's dataset, alone and in a pipeline after `prune`; without a dataset it says so.
    @Test func finetuneTechniqueTrainsThroughTheContext() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let data = try Self.tinyDataset()
        let r = try await c.call(2, "model/compress", ["id": "m", "technique": "finetune", "dataset": .string(data.path),
                                                      "params": ["epochs": 2, "batchSize": 2, "crop": [8, 8], "lr": 0.05], "newId": "ft"])
        let details = try #require(r["result"]?["report"]?["steps"]?.arrayValue?.first?["details"], "\(r)")
        #expect(details["steps"] == 4)
        #expect(details["history"]?.arrayValue?.count == 2)
        #expect(details["bestValMiou"]?.doubleValue != nil)
        #expect(r["result"]?["report"]?["evaluation"]?["after"]?["miou"]?.doubleValue != nil)

        let pipeline = try await c.call(3, "model/pipeline", ["id": "m", "dataset": .string(data.path), "newId": "pf",
                                                             "steps": [["technique": "prune", "params": ["ratio": 0.5]],
                                                                       ["technique": "finetune", "params": ["steps": 2, "batchSize": 2, "crop": [8, 8]]]]])
        let steps = try #require(pipeline["result"]?["report"]?["steps"]?.arrayValue, "\(pipeline)")
        #expect(steps.map { $0["technique"] } == ["prune", "finetune"])
        #expect(steps.last?["details"]?["steps"] == 2)

        let noData = try await c.call(4, "model/compress", ["id": "m", "technique": "finetune"])
        #expect(noData.errorCode == -33007, "\(noData)")
        #expect(noData.errorMessage.contains("params.dataset"), "\(noData)")
    }
}
