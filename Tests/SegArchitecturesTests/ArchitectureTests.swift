import Foundation
import SegArchitectures
import SegAutodiff
import SegGraph
import SegONNX
import SegReference
import SegTensor
import Testing

/// Every architecture, small: a valid graph that runs on the reference executor and trains.
@Suite struct ArchitectureTests {
    static func small(_ arch: Architecture, input: StudentSpec.Input = .fixed(height: 64, width: 64), seed: UInt64 = 0) throws -> Model {
        try StudentBuilder.build(StudentSpec(architecture: arch, classes: 5, input: input, seed: seed))
    }

    static func image(_ dims: [Int]) throws -> Tensor {
        var g = SeededGenerator(seed: 7)
        let count = dims.reduce(1, *)
        return try Tensor(dims: dims, scalars: (0..<count).map { _ in Float(g.int(2001)) / 1000 - 1 })
    }

    @Test(arguments: Architecture.allCases)
    func validGraphRunsWithFiniteLogits(_ arch: Architecture) throws {
        let model = try Self.small(arch)
        try model.graph.validate()
        #expect(model.irVersion == 8 && model.opsetImports == [OpsetImport(domain: "", version: 17)])
        #expect(model.graph.nodes.allSatisfy { $0.domain.isEmpty })
        #expect(model.graph.opCounts["BatchNormalization", default: 0] > 10)
        // The file reads back to the same model (our codec), and shapes infer to the declared output.
        let back = try ONNX.decode(try ONNX.encode(model))
        #expect(back == model)
        let inference = try ShapeInference(model: model)
        #expect(inference.types["out"]?.concreteDims == [1, 5, 64, 64])
        let out = try #require(try ReferenceExecutor(model: model).run(["image": try Self.image([1, 3, 64, 64])])["out"])
        #expect(out.dims == [1, 5, 64, 64])
        let values = try out.scalars(as: Float.self)
        #expect(values.allSatisfy { $0.isFinite })
        // LRASPP adds a classifier of the stride-8 feature, so its logits vary over the image even
        // untrained; an untrained DeepLabV3 in inference mode is near-constant (its backbone
        // output has std ~1e-9 in PyTorch too), so only finiteness is asked of it.
        if !arch.rawValue.hasPrefix("deeplab") { #expect(Set(values).count > 100, "the logits vary over the image") }
    }

    @Test(arguments: Architecture.allCases)
    func symbolicInputRunsAtAnySize(_ arch: Architecture) throws {
        let model = try Self.small(arch, input: .dynamic)
        #expect(model.graph.inputs.first?.type?.shape == [.param("N"), .value(3), .param("H"), .param("W")])
        let inference = try ShapeInference(model: model, inputShapes: ["image": [2, 3, 48, 80]])
        #expect(inference.types["out"]?.concreteDims == [2, 5, 48, 80])
    }

    @Test(arguments: Architecture.allCases)
    func trainsForwardAndBackward(_ arch: Architecture) throws {
        let model = try Self.small(arch, input: .fixed(height: 32, width: 32))
        let trainable = TrainableParameters(model: model)
        let weights = model.graph.initializers.filter { $0.name.hasSuffix(".weight") }.map(\.name)
        // Every conv and BN weight and bias trains; the running statistics are state.
        #expect(Set(trainable.names) == Set(model.graph.initializers.names.filter { !$0.hasSuffix("running_mean") && !$0.hasSuffix("running_var") }))
        #expect(trainable.state.count == 2 * model.graph.opCounts["BatchNormalization", default: 0])
        #expect(!weights.isEmpty)

        let program = try TrainingProgram(model: model, inputShapes: ["image": [2, 3, 32, 32]], trainable: trainable.names,
                                          state: trainable.state)
        var parameters: [String: FloatTensor] = [:]
        for name in trainable.names + trainable.state {
            parameters[name] = try FloatTensor(try #require(model.graph.initializers[name]), name: name)
        }
        let x = try FloatTensor(try Self.image([2, 3, 32, 32]), name: "image")
        let (outputs, state) = try program.forward(inputs: ["image": x], parameters: parameters)
        let out = try #require(outputs["out"])
        #expect(out.dims == [2, 5, 32, 32] && out.scalars.allSatisfy { $0.isFinite })
        #expect(state.count == trainable.state.count, "BatchNorm running statistics update in training mode")
        // d(sum of logits of class 0)/d(parameters): reaches the first conv through the whole net.
        var seed = FloatTensor(zeros: out.dims)
        for i in 0..<(32 * 32) { seed.scalars[i] = 1; seed.scalars[5 * 32 * 32 + i] = 1 }
        let grads = try program.backward(outputGradients: ["out": seed])
        let first = try #require(trainable.names.first)
        let g = try #require(grads[first])
        #expect(g.dims == parameters[first]?.dims)
        #expect(g.scalars.allSatisfy { $0.isFinite } && g.scalars.contains { $0 != 0 })
        #expect(grads.values.allSatisfy { $0.scalars.allSatisfy { v in v.isFinite } })
    }

    @Test func sameSeedSameBytesOtherSeedOtherWeights() throws {
        let a = try ONNX.encode(try Self.small(.lrasppGhostNet, seed: 3))
        let b = try ONNX.encode(try Self.small(.lrasppGhostNet, seed: 3))
        let c = try ONNX.encode(try Self.small(.lrasppGhostNet, seed: 4))
        #expect(a == b)
        #expect(a != c && a.count == c.count)
    }

    @Test func badSpecsAreRefusedWithTheField() throws {
        #expect(throws: ArchitectureError.classes(0)) { try StudentBuilder.build(StudentSpec(architecture: .lrasppMobileNetV3Small, classes: 0)) }
        #expect(throws: ArchitectureError.classes(100_000)) {
            try StudentBuilder.build(StudentSpec(architecture: .lrasppMobileNetV3Small, classes: 100_000))
        }
        #expect(throws: ArchitectureError.width(3, .lrasppMobileNetV3Large)) {
            try StudentBuilder.build(StudentSpec(architecture: .lrasppMobileNetV3Large, classes: 2, width: 3))
        }
        #expect(throws: ArchitectureError.width(0.5, .lrasppShuffleNetV2x05)) {
            try StudentBuilder.build(StudentSpec(architecture: .lrasppShuffleNetV2x05, classes: 2, width: 0.5))
        }
        #expect(throws: ArchitectureError.inputSize(8, 64)) {
            try StudentBuilder.build(StudentSpec(architecture: .lrasppGhostNet, classes: 2, input: .fixed(height: 8, width: 64)))
        }
        #expect(ArchitectureError.unknownArchitecture("resnet").description.contains("lraspp-mobilenetv3-small"))
    }

    @Test func widthMultiplierRoundsChannelsToEights() throws {
        let model = try StudentBuilder.build(StudentSpec(architecture: .lrasppMobileNetV3Large, classes: 3, width: 0.75,
                                                         input: .fixed(height: 64, width: 64)))
        // torchvision: _make_divisible(16 * 0.75) = 16, (960 * 0.75) → 720; the last conv is 6 × 120 = 720.
        #expect(model.graph.initializers["backbone.0.0.weight"]?.dims == [16, 3, 3, 3])
        #expect(model.graph.initializers["backbone.16.0.weight"]?.dims == [720, 120, 1, 1])
        for (name, t) in model.graph.initializers where name.hasPrefix("backbone.") && t.dims.count == 4 {
            #expect(t.dims[0] % 8 == 0, "\(name): \(t.dims[0]) output channels")
        }
    }
}
