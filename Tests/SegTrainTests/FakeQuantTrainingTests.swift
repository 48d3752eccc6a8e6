import SegAutodiff
import SegGraph
import SegTensor
import SegTrain
import Testing

/// A fake-quantized conv net (u8 activations, per-channel s8 weights, the QAT layout) trains
/// on a fixed batch: straight-through gradients lower the loss, and with learned step sizes
/// the scales move too.
@Suite struct FakeQuantTrainingTests {
    static func model() throws -> Model {
        func values(_ n: Int, _ seed: UInt64) -> [Float] {
            var rng = SeededGenerator(seed: seed)
            return (0..<n).map { _ in Float.random(in: -0.5...0.5, using: &rng) }
        }
        var g = Graph(name: "fakequant")
        g.inputs = [ValueInfo(name: "image", type: TensorType(elementType: .f32, shape: [.value(1), .value(3), .value(8), .value(8)]))]
        g.initializers["w1"] = try Tensor(dims: [8, 3, 3, 3], scalars: values(216, 1))
        g.initializers["b1"] = try Tensor(dims: [8], scalars: values(8, 2))
        g.initializers["w2"] = try Tensor(dims: [3, 8, 1, 1], scalars: values(24, 3))
        g.initializers["b2"] = try Tensor(dims: [3], scalars: [Float](repeating: 0, count: 3))
        for (name, w) in [("w1", 8), ("w2", 3)] {
            let v = try g.initializers[name]!.scalars(as: Float.self)
            let inner = v.count / w
            let scales = (0..<w).map { c in (0..<inner).map { abs(v[c * inner + $0]) }.max()! / 127 }
            g.initializers[name + "_scale"] = try Tensor(dims: [w], scalars: scales)
            g.initializers[name + "_zero_point"] = try Tensor(dims: [w], scalars: [Int8](repeating: 0, count: w))
        }
        for (name, s, z) in [("image", Float(2.0 / 255), UInt8(128)), ("r1", Float(1.5 / 255), UInt8(0))] {
            g.initializers[name + "_scale"] = Tensor(scalar: s)
            g.initializers[name + "_zero_point"] = Tensor(scalar: z)
        }
        func pair(_ x: String, _ axis: Int? = nil) -> [Node] {
            let a = axis.map { [NamedAttribute("axis", .int($0))] } ?? []
            return [Node(name: x + "_q", opType: "QuantizeLinear", inputs: [x, x + "_scale", x + "_zero_point"], outputs: [x + "_codes"], attributes: a),
                    Node(name: x + "_dq", opType: "DequantizeLinear", inputs: [x + "_codes", x + "_scale", x + "_zero_point"], outputs: [x + "_dq"], attributes: a)]
        }
        g.nodes = pair("image") + pair("w1", 0) + [
            Node(name: "c1", opType: "Conv", inputs: ["image_dq", "w1_dq", "b1"], outputs: ["c1"], attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1]))]),
            Node(name: "relu", opType: "Relu", inputs: ["c1"], outputs: ["r1"]),
        ] + pair("r1") + pair("w2", 0) + [Node(name: "c2", opType: "Conv", inputs: ["r1_dq", "w2_dq", "b2"], outputs: ["logits"])]
        g.outputs = [ValueInfo(name: "logits", type: TensorType(elementType: .f32, shape: [.value(1), .value(3), .value(8), .value(8)]))]
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
    }

    @Test(arguments: [false, true])
    func trainingLowersTheLoss(lsq: Bool) throws {
        let m = try Self.model()
        // On this toy net the ReLU's range collapses under LSQ (every clipped value pulls it
        // down): it stays fixed, the weight and input scales learn.
        let parameters = TrainableParameters(model: m, freeze: ["r1_scale"], quantizationScales: lsq)
        #expect(Set(parameters.names).isSuperset(of: ["w1", "b1", "w2", "b2"]))
        #expect(parameters.names.contains("w1_scale") == lsq && parameters.names.contains("image_scale") == lsq)
        let (x, labels) = TrainerTests.batch()
        let trainer = try Trainer(model: m, parameters: parameters, optimizer: SGD(momentum: 0.9, weightDecay: WeightDecayPolicy(rate: 0)),
                                  schedule: LearningRateSchedule(.constant, baseLR: lsq ? 0.002 : 0.1, totalSteps: 40), loss: CrossEntropyLoss())
        let first = try trainer.step(images: x, labels: labels).loss
        var last = first
        for _ in 0..<39 { last = try trainer.step(images: x, labels: labels).loss }
        // Step sizes of ~0.005 allow only a small rate with scales learning (SGD would push them below 0).
        #expect(last < (lsq ? 0.97 : 0.8) * first, "\(first) → \(last)")
        let scaleMoved = trainer.values["w2_scale"].map { $0.scalars != (try? m.graph.initializers["w2_scale"]!.scalars(as: Float.self)) } ?? false
        #expect(scaleMoved == lsq)
    }
}
