import Foundation
import SegGraph
import SegReference
import SegRuntime
import SegTensor
import Testing

/// Batches run image by image through the batch-1 plan (`RuntimeOptions.batchPerImage`): a
/// squeeze-excite block with global pooling and a Resize gives for each image of a batch
/// exactly what it gives alone, and what the batched plan gives; models that mix the batch's
/// samples keep the batched plan.
@Suite struct BatchPerImageTests {
    static func options(perImage: Bool, minArenaBytes: Int = 0) -> RuntimeOptions {
        var o = RuntimeOptions.standard
        o.batchPerImage = perImage
        o.perImageMinArenaBytes = minArenaBytes
        return o
    }

    /// A squeeze-excite block and a bilinear upsampling on a batch of any size: Conv 3→8 3×3,
    /// Relu, GlobalAveragePool → Conv 8→8 1×1 → Sigmoid → Mul, Resize ×2, Conv 8→2 1×1.
    static func model() throws -> Model {
        var g = Graph(name: "se-up")
        g.inputs = [ValueInfo(name: "image", type: TensorType(elementType: .f32, shape: [.param("n"), .value(3), .value(24), .value(20)]))]
        func weights(_ count: Int, _ seed: Int) -> [Float] { (0..<count).map { Float(($0 * 37 + seed * 11) % 23) / 23 - 0.5 } }
        g.initializers["w1"] = try Tensor(dims: [8, 3, 3, 3], scalars: weights(216, 1))
        g.initializers["w2"] = try Tensor(dims: [8, 8, 1, 1], scalars: weights(64, 2))
        g.initializers["w3"] = try Tensor(dims: [2, 8, 1, 1], scalars: weights(16, 3))
        g.initializers["scales"] = try Tensor(dims: [4], scalars: [Float(1), 1, 2, 2])
        g.nodes = [
            Node(opType: "Conv", inputs: ["image", "w1"], outputs: ["c1"], attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1]))]),
            Node(opType: "Relu", inputs: ["c1"], outputs: ["r1"]),
            Node(opType: "GlobalAveragePool", inputs: ["r1"], outputs: ["p"]),
            Node(opType: "Conv", inputs: ["p", "w2"], outputs: ["c2"]),
            Node(opType: "Sigmoid", inputs: ["c2"], outputs: ["s"]),
            Node(opType: "Mul", inputs: ["r1", "s"], outputs: ["m"]),
            Node(opType: "Resize", inputs: ["m", "", "scales"], outputs: ["u"], attributes: [NamedAttribute("mode", .string("linear"))]),
            Node(opType: "Conv", inputs: ["u", "w3"], outputs: ["out"]),
        ]
        g.outputs = [ValueInfo(name: "out")]
        return Model(graph: g)
    }

    /// Three different images in one [3, 3, 24, 20] tensor, and each alone.
    static func images() throws -> (batch: Tensor, each: [Tensor]) {
        let x: [Float] = (0..<(3 * 24 * 20)).map { (i: Int) -> Float in Float((i * 7919) % 1000) / 500 - 1 }
        let half: [Float] = x.map { (v: Float) -> Float in v * 0.5 - 0.25 }
        let variants: [[Float]] = [x, half, Array(x.reversed())]
        return (try Tensor(dims: [3, 3, 24, 20], scalars: variants.flatMap { $0 }),
                try variants.map { try Tensor(dims: [1, 3, 24, 20], scalars: $0) })
    }

    @Test func eachImageOfABatchIsWhatItIsAlone() throws {
        let model = try Self.model()
        let (batch, each) = try Self.images()
        let perImage = try Compiler(options: Self.options(perImage: true)).compile(model, inputShapes: ["image": batch.dims])
        #expect(perImage.perImage != nil)
        let batched = try Compiler(options: Self.options(perImage: false)).compile(model, inputShapes: ["image": batch.dims])
        #expect(batched.perImage == nil)
        let single = try Compiler(options: .standard).compile(model, inputShapes: ["image": [1, 3, 24, 20]])

        let out = try #require(try perImage.run(["image": batch])["out"])
        #expect(out.dims == [3, 2, 48, 40])
        let all = try out.scalars(as: Float.self)
        let plane = all.count / 3
        for (i, x) in each.enumerated() {
            let alone = try #require(try single.run(["image": x])["out"]).scalars(as: Float.self)
            // The same batch-1 plan on the same floats: bit for bit.
            let same = Array(all[(i * plane)..<((i + 1) * plane)]) == alone
            #expect(same, "image \(i)")
        }
        let reference = try #require(try batched.run(["image": batch])["out"]).scalars(as: Float.self)
        let worst = zip(all, reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4, "largest difference from the batched plan \(worst)")

        // The reading and filling entry points see the same batch.
        let read = try perImage.run(["image": batch], reading: "out") { view -> [Float] in
            if case .tensor(let t) = view { return (try? t.scalars(as: Float.self)) ?? [] }
            return []
        }
        let readSame = read == all
        #expect(readSame)
        let source = try batch.scalars(as: Float.self)
        let filled = try perImage.run(filling: "image", { slot in _ = slot.initialize(from: source) }, reading: "out") { view -> [Float] in
            if case .tensor(let t) = view { return (try? t.scalars(as: Float.self)) ?? [] }
            return []
        }
        let filledSame = filled == all
        #expect(filledSame)
        // A wrong dtype or shape is refused by name, as the batched plan refuses it.
        #expect(throws: ExecutionError.self) { _ = try perImage.run(["image": try Tensor(dims: [2, 3, 24, 20], scalars: [Float](repeating: 0, count: 2880))]) }
        #expect(throws: ExecutionError.self) { _ = try perImage.run(["image": try Tensor(dims: [3, 3, 24, 20], scalars: [Double](repeating: 0, count: 4320))]) }
        // Profiles count every step once per image.
        var calls = 0
        _ = try perImage.run(["image": batch], profile: { _, _, _ in calls += 1 })
        var stepsAlone = 0
        _ = try single.run(["image": each[0]], profile: { _, _, _ in stepsAlone += 1 })
        #expect(calls == 3 * stepsAlone && stepsAlone > 0)
    }

    @Test func smallActivationsAndBatchOneStayBatched() throws {
        let model = try Self.model()
        // One 24×20 image's arena is far below the default 8 MiB.
        let plan = try Compiler(options: .standard).compile(model, inputShapes: ["image": [3, 3, 24, 20]])
        #expect(plan.perImage == nil)
        let one = try Compiler(options: Self.options(perImage: true)).compile(model, inputShapes: ["image": [1, 3, 24, 20]])
        #expect(one.perImage == nil)
    }

    /// Softmax over axis 0 and Concat along axis 0 mix the samples (same shapes per image and
    /// batched, different numbers): such models keep the batched plan and its results.
    @Test func modelsThatMixSamplesKeepTheBatchedPlan() throws {
        for (opType, attributes) in [("Softmax", [NamedAttribute("axis", .int(0))]), ("Concat", [NamedAttribute("axis", .int(0))])] {
            var g = Graph(name: "mix")
            g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.param("n"), .value(2), .value(4), .value(4)]))]
            g.initializers["w"] = try Tensor(dims: [2, 2, 1, 1], scalars: [Float(1), 0.5, -0.5, 2])
            g.nodes = [Node(opType: "Conv", inputs: ["x", "w"], outputs: ["c"]),
                       Node(opType: opType, inputs: opType == "Concat" ? ["c", "c"] : ["c"], outputs: ["y"], attributes: attributes)]
            g.outputs = [ValueInfo(name: "y")]
            let model = Model(graph: g)
            let plan = try Compiler(options: Self.options(perImage: true)).compile(model, inputShapes: ["x": [2, 2, 4, 4]])
            #expect(plan.perImage == nil, "\(opType)")
            let x = try Tensor(dims: [2, 2, 4, 4], scalars: (0..<64).map { Float($0) / 32 - 1 })
            let got = try #require(try plan.run(["x": x])["y"]).scalars(as: Float.self)
            let want = try #require(try ReferenceExecutor(model: model).run(["x": x])["y"]).scalars(as: Float.self)
            #expect(zip(got, want).allSatisfy { abs($0 - $1) <= 1e-5 }, "\(opType)")
        }
    }
}
