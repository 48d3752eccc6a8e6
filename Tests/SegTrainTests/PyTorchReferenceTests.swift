import Foundation
import SegAutodiff
import SegGraph
import SegONNX
import SegTensor
import SegTrain
import Testing

/// The engine against PyTorch on the committed fixtures (tools/train/make_train_fixtures.py:
/// the same ONNX graph run by a torch interpreter with autograd, references in float64): the
/// loss, every parameter gradient within 1e-3 of its largest magnitude, one plain SGD step
/// (weights and BatchNorm running statistics) and two AdamW steps.
@Suite struct PyTorchReferenceTests {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    struct Case {
        let folder: URL
        let model: Model
        let images: FloatTensor
        let labels: LabelBatch
        let loss: JSONValueLike

        init(_ name: String) throws {
            folder = PyTorchReferenceTests.fixtures.appendingPathComponent(name)
            model = try ONNX.load(contentsOf: folder.appendingPathComponent("model.onnx"))
            images = try FloatTensor(try Tensor(contentsOfNPY: folder.appendingPathComponent("inputs.npy")), name: "inputs")
            let y = try Tensor(contentsOfNPY: folder.appendingPathComponent("labels.npy"))
            labels = LabelBatch(dims: y.dims, values: try y.scalars(as: UInt8.self).map { Int32($0) })
            loss = try JSONValueLike(folder.appendingPathComponent("loss.json"))
        }

        func npy(_ relative: String) throws -> FloatTensor {
            try FloatTensor(try Tensor(contentsOfNPY: folder.appendingPathComponent(relative)), name: relative)
        }

        func trainer(_ optimizer: any Optimizer, lr: Float) throws -> Trainer {
            let parameters = TrainableParameters(model: model)
            return try Trainer(model: model, parameters: parameters, optimizer: optimizer,
                               schedule: LearningRateSchedule(.constant, baseLR: lr, totalSteps: 10), loss: CrossEntropyLoss())
        }
    }

    /// Parsed JSON through Foundation (the test only reads the fixture's own files).
    struct JSONValueLike {
        let object: [String: Any]
        init(_ url: URL) throws {
            object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        }
        subscript(_ key: String) -> Any? { object[key] }
    }

    static func close(_ a: FloatTensor, _ b: FloatTensor, relativeToMax tolerance: Float) -> String? {
        guard a.dims == b.dims else { return "dims \(a.dims) vs \(b.dims)" }
        let scale = max(b.scalars.map(abs).max() ?? 0, 1e-12)
        let worst = zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
        return worst <= tolerance * scale ? nil : "max diff \(worst) vs max magnitude \(scale)"
    }

    @Test(arguments: ["tiny_a", "tiny_b"])
    func lossAndGradientsMatchPyTorch(_ name: String) throws {
        let c = try Case(name)
        let parameters = TrainableParameters(model: c.model)
        #expect(parameters.names == c.loss["trainable"] as? [String])
        #expect(parameters.state == c.loss["bnState"] as? [String])
        let trainer = try c.trainer(SGD(momentum: 0), lr: 1)
        let (result, grads, _) = try trainer.gradients(images: c.images, labels: c.labels)
        let expected = try #require(c.loss["loss"] as? Double)
        #expect(abs(result.value - expected) <= 1e-4 * abs(expected), "loss \(result.value) vs PyTorch \(expected)")
        let files = try #require(c.loss["gradients"] as? [String: String])
        for (param, file) in files.sorted(by: { $0.key < $1.key }) {
            let g = try #require(grads[param], "no gradient for \(param)")
            let problem = Self.close(g, try c.npy(file), relativeToMax: 1e-3)
            #expect(problem == nil, "\(name) ∂loss/∂\(param): \(problem ?? "")")
        }
    }

    @Test(arguments: ["tiny_a", "tiny_b"])
    func oneSGDStepMatchesPyTorch(_ name: String) throws {
        let c = try Case(name)
        let step = try JSONValueLike(c.folder.appendingPathComponent("sgd_step/step.json"))
        let trainer = try c.trainer(SGD(momentum: 0, weightDecay: WeightDecayPolicy(rate: 0)), lr: 1)
        try trainer.step(images: c.images, labels: c.labels)
        for key in ["params", "bnState"] {
            let files = try #require(step[key] as? [String: String])
            for (param, file) in files.sorted(by: { $0.key < $1.key }) {
                let expected = try c.npy(file)
                let actual = try #require(trainer.values[param], "\(param) not trained")
                // Within 1e-3 of the weight's own largest magnitude (float32 vs a float64 reference).
                let problem = Self.close(actual, expected, relativeToMax: 1e-4)
                #expect(problem == nil, "\(name) \(key) \(param): \(problem ?? "")")
            }
        }
    }

    @Test func twoAdamWStepsMatchPyTorch() throws {
        let c = try Case("tiny_a")
        let adam = try JSONValueLike(c.folder.appendingPathComponent("adamw/adamw.json"))
        let trainer = try c.trainer(AdamW(weightDecay: WeightDecayPolicy(rate: 1e-2, decayNormsAndBiases: true)), lr: 1e-3)
        let steps = try #require(adam["steps"] as? [[String: Any]])
        for s in steps {
            let lossBefore = try #require(s["lossBeforeStep"] as? Double)
            let stats = try trainer.step(images: c.images, labels: c.labels)
            #expect(abs(stats.loss - lossBefore) <= 1e-4 * lossBefore)
            for (param, file) in try #require(s["params"] as? [String: String]) {
                let expected = try c.npy(file)
                let actual = try #require(trainer.values[param])
                // AdamW's first steps move each weight by about lr·sign(g): compare absolutely.
                let worst = zip(actual.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 2e-5, "AdamW step \(s["step"] ?? "?") \(param): max diff \(worst)")
            }
        }
    }
}
