import SegAutodiff
import SegGraph
import SegTensor
import SegTrain
import Testing

/// The whole step on a small conv net (Conv → BatchNorm → HardSwish → Conv, plus a residual
/// Add and an upsampling Resize): one plain SGD step at lr 1 moves every weight by minus the
/// finite-difference gradient of the cross-entropy loss, and the running statistics follow
/// PyTorch's update.
@Suite struct TrainerTests {
    static func model() throws -> Model {
        func values(_ n: Int, _ seed: UInt64, scale: Float = 0.5) -> [Float] {
            var rng = SeededGenerator(seed: seed)
            return (0..<n).map { _ in Float.random(in: -scale...scale, using: &rng) }
        }
        var g = Graph(name: "tiny")
        g.inputs = [ValueInfo(name: "image", type: TensorType(elementType: .f32, shape: [.value(1), .value(3), .value(8), .value(8)]))]
        g.initializers["w1"] = try Tensor(dims: [4, 3, 3, 3], scalars: values(108, 1))
        g.initializers["b1"] = try Tensor(dims: [4], scalars: values(4, 2))
        g.initializers["gamma"] = try Tensor(dims: [4], scalars: [1, 0.5, 1.5, 1])
        g.initializers["beta"] = try Tensor(dims: [4], scalars: [0, 0.1, -0.1, 0.2])
        g.initializers["mean"] = try Tensor(dims: [4], scalars: [0, 0, 0, 0] as [Float])
        g.initializers["var"] = try Tensor(dims: [4], scalars: [1, 1, 1, 1] as [Float])
        g.initializers["w2"] = try Tensor(dims: [4, 4, 1, 1], scalars: values(16, 3))
        g.initializers["w3"] = try Tensor(dims: [3, 4, 1, 1], scalars: values(12, 4))
        g.initializers["b3"] = try Tensor(dims: [3], scalars: values(3, 5))
        g.initializers["scales"] = try Tensor(dims: [4], scalars: [1, 1, 2, 2] as [Float])
        g.nodes = [
            Node(name: "stem", opType: "Conv", inputs: ["image", "w1", "b1"], outputs: ["c1"],
                 attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1])), NamedAttribute("strides", .ints([2, 2]))]),
            Node(opType: "BatchNormalization", inputs: ["c1", "gamma", "beta", "mean", "var"], outputs: ["bn"]),
            Node(opType: "HardSwish", inputs: ["bn"], outputs: ["h"]),
            Node(opType: "Conv", inputs: ["h", "w2"], outputs: ["c2"]),
            Node(opType: "Add", inputs: ["c2", "h"], outputs: ["r"]),
            Node(opType: "Conv", inputs: ["r", "w3", "b3"], outputs: ["small"]),
            Node(opType: "Resize", inputs: ["small", "", "scales"], outputs: ["out"],
                 attributes: [NamedAttribute("mode", .string("linear"))]),
        ]
        g.outputs = [ValueInfo(name: "out")]
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
    }

    static func batch() -> (FloatTensor, LabelBatch) {
        var rng = SeededGenerator(seed: 11)
        let x = (0..<(2 * 3 * 64)).map { _ in Float.random(in: -1...1, using: &rng) }
        // Each pixel's class is its brightest channel (learnable from the image), some void.
        var y: [Int32] = []
        for n in 0..<2 {
            for i in 0..<64 {
                let c = (0..<3).map { x[(n * 3 + $0) * 64 + i] }
                y.append(i % 9 == 0 ? 255 : Int32(c.firstIndex(of: c.max()!)!))
            }
        }
        return (FloatTensor(dims: [2, 3, 8, 8], scalars: x), LabelBatch(dims: [2, 8, 8], values: y))
    }

    @Test func oneSGDStepIsWeightsMinusGradient() throws {
        let m = try Self.model()
        let parameters = TrainableParameters(model: m)
        #expect(parameters.names == ["w1", "b1", "gamma", "beta", "w2", "w3", "b3"])
        #expect(parameters.state == ["mean", "var"])
        let (x, labels) = Self.batch()
        let trainer = try Trainer(model: m, parameters: parameters, optimizer: SGD(momentum: 0), schedule: LearningRateSchedule(.constant, baseLR: 1, totalSteps: 1),
                                  loss: CrossEntropyLoss())
        let before = trainer.values
        // Finite differences of the loss through the whole forward pass, at the start point.
        let probe = try Trainer(model: m, parameters: parameters, optimizer: SGD(momentum: 0), schedule: LearningRateSchedule(.constant, baseLR: 0, totalSteps: 1),
                                loss: CrossEntropyLoss())
        func loss(_ name: String, _ i: Int, _ delta: Float) throws -> Double {
            var values = before
            values[name]!.scalars[i] += delta
            try probe.load(values: values, stepCount: 0)
            return try probe.gradients(images: x, labels: labels).0.value
        }
        try trainer.step(images: x, labels: labels)
        var checked = 0
        for name in parameters.names {
            let count = before[name]!.count
            for i in Swift.stride(from: 0, to: count, by: max(1, count / 6)) {
                let numeric = (try loss(name, i, 1e-2) - loss(name, i, -1e-2)) / 2e-2
                let moved = Double(before[name]!.scalars[i] - trainer.values[name]!.scalars[i])
                #expect(abs(moved - numeric) <= 2e-3 + 2e-2 * abs(numeric), "\(name)[\(i)]: moved \(moved), gradient \(numeric)")
                checked += 1
            }
        }
        #expect(checked >= 30)
        // Running statistics: 0.9·old + 0.1·batch (unbiased variance), per channel; recompute
        // the batch statistics of the first conv's output here.
        let conv = try TrainingProgram(model: Model(graph: {
            var g = m.graph
            g.nodes = [g.nodes[0]]
            g.outputs = [ValueInfo(name: "c1")]
            return g
        }(), opsetImports: m.opsetImports), inputShapes: ["image": [2, 3, 8, 8]], trainable: ["w1", "b1"])
        let c1 = try #require(conv.forward(inputs: ["image": x], parameters: ["w1": before["w1"]!, "b1": before["b1"]!]).outputs["c1"])
        for ch in 0..<4 {
            var values: [Double] = []
            for n in 0..<2 { for i in 0..<16 { values.append(Double(c1.scalars[(n * 4 + ch) * 16 + i])) } }
            let mean = values.reduce(0, +) / 32
            let unbiased = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 31
            #expect(abs(Double(trainer.values["mean"]!.scalars[ch]) - 0.1 * mean) < 1e-5)
            #expect(abs(Double(trainer.values["var"]!.scalars[ch]) - (0.9 + 0.1 * unbiased)) < 1e-5)
        }
    }

    @Test func adamWLowersTheLossAndTheModelCarriesTheWeights() throws {
        let m = try Self.model()
        let (x, labels) = Self.batch()
        let trainer = try Trainer(model: m, parameters: TrainableParameters(model: m), optimizer: AdamW(weightDecay: WeightDecayPolicy(rate: 0)),
                                  schedule: LearningRateSchedule(.constant, baseLR: 0.05, totalSteps: 60), loss: CrossEntropyLoss())
        let first = try trainer.step(images: x, labels: labels).loss
        var last = first
        for _ in 0..<59 { last = try trainer.step(images: x, labels: labels).loss }
        #expect(last < 0.75 * first, "\(first) → \(last)")
        let trained = try trainer.currentModel()
        let w = try trained.graph.initializers["w3"]!.scalars(as: Float.self)
        #expect(w == trainer.values["w3"]!.scalars)
        #expect(w != (try m.graph.initializers["w3"]!.scalars(as: Float.self)))
    }

    @Test func freezingAndNoTrainablePath() throws {
        let m = try Self.model()
        let frozen = TrainableParameters(model: m, freeze: ["w*", "stem"])
        #expect(frozen.names == ["gamma", "beta", "b3"])
        #expect(Set(frozen.frozen) == ["w1", "b1", "w2", "w3"])
        let none = TrainableParameters(model: m, freeze: ["*"])
        #expect(throws: TrainingError.self) {
            try Trainer(model: m, parameters: none, optimizer: SGD(), schedule: LearningRateSchedule(.constant, baseLR: 1, totalSteps: 1), loss: CrossEntropyLoss())
        }
    }
}
