@testable import Quantize
import Foundation
import SegGraph
import SegProtocol
import SegReference
import SegRuntime
import SegServer
import SegTechnique
import SegTensor
import Testing

/// Stands in for the server's trainer: records the fake-quant model it was given and "trains"
/// it by a fixed change of every float weight behind a QuantizeLinear (scaled by `factor`).
final class RecordingTrainer: ModelTraining, @unchecked Sendable {
    let factor: Float
    var received: Model?
    var recipe: ModelTrainRequest.Params?
    init(factor: Float) { self.factor = factor }

    func train(_ model: Model, recipe: ModelTrainRequest.Params, progress: @escaping @Sendable (Double, String) -> Void) async throws -> TrainedModel {
        received = model
        self.recipe = recipe
        var m = model
        for n in m.graph.nodes where n.opType == "QuantizeLinear" {
            guard let w = m.graph.initializers[n.inputs[0]] else { continue }
            let v = try w.scalars(as: Float.self).map { $0 * factor }
            m.graph.initializers[n.inputs[0]] = try Tensor(dims: w.dims, scalars: v)
        }
        return TrainedModel(model: m, report: ["technique": "train"])
    }
}

@Suite struct QATTests {
    func run(_ params: JSONValue = [:], factor: Float = 1, model: Model = QuantizeFixtures.net()) async throws -> (TechniqueResult, RecordingTrainer) {
        let trainer = RecordingTrainer(factor: factor)
        let ctx = TechniqueContext(samples: QuantizeFixtures.samples(8), runner: TechniqueRunner(threads: nil), trainer: trainer)
        return (try await QATTechnique(parameters: params).apply(to: model, in: ctx), trainer)
    }

    func ptq() async throws -> Model {
        let ctx = TechniqueContext(samples: QuantizeFixtures.samples(8), runner: TechniqueRunner(threads: nil))
        return try await QuantizeTechnique(parameters: [:]).apply(to: QuantizeFixtures.net(), in: ctx).model
    }

    static func layout(_ m: Model) -> [String] {
        m.graph.nodes.map { "\($0.name)|\($0.opType)|\($0.inputs)|\($0.outputs)|\($0.attributes.map(\.name))" }.sorted()
    }

    static func dtypes(_ m: Model) -> [String: String] {
        var d: [String: String] = [:]
        for name in m.graph.initializers.names { d[name] = "\(m.graph.initializers[name]!.dtype) \(m.graph.initializers[name]!.dims)" }
        return d
    }

    @Test func untrainedRoundTripIsThePTQModel() async throws {
        let reference = try await ptq()
        let (result, trainer) = try await run()
        #expect(Self.layout(result.model) == Self.layout(reference))
        #expect(Self.dtypes(result.model) == Self.dtypes(reference))
        for name in reference.graph.initializers.names {
            #expect(result.model.graph.initializers[name] == reference.graph.initializers[name], "\(name)")
        }
        // What trained: float weights behind QuantizeLinear, no 8-bit weight codes.
        let fake = try #require(trainer.received)
        let qCount = fake.graph.nodes.filter { $0.opType == "QuantizeLinear" }.count
        #expect(qCount > reference.graph.nodes.filter { $0.opType == "QuantizeLinear" }.count)
        #expect(!fake.graph.nodes.contains { $0.opType == "DequantizeLinear" && fake.graph.initializers[$0.inputs[0]] != nil })
        #expect(trainer.recipe?.trainQuantizationScales == false && trainer.recipe?.epochs == 1)
    }

    @Test func exportedCodesAreRoundedTrainedWeights() async throws {
        let reference = try await ptq()
        let (result, trainer) = try await run(factor: 1.3)
        #expect(Self.layout(result.model) == Self.layout(reference))
        #expect(Self.dtypes(result.model) == Self.dtypes(reference))
        let fake = try #require(trainer.received)
        var changed = 0
        for q in fake.graph.nodes where q.opType == "QuantizeLinear" {
            guard let w = fake.graph.initializers[q.inputs[0]] else { continue }
            let trained = try w.scalars(as: Float.self).map { $0 * 1.3 }
            let dq = try #require(result.model.graph.nodes.first { $0.inputs.count > 1 && $0.opType == "DequantizeLinear" && $0.inputs[1] == q.inputs[1] })
            let codes = try #require(result.model.graph.initializers[dq.inputs[0]]).scalars(as: Int8.self)
            let scales = try #require(result.model.graph.initializers[q.inputs[1]]).scalars(as: Float.self)
            let inner = w.dims.dropFirst().reduce(1, *)
            for i in trained.indices {
                let s = scales[scales.count == 1 ? 0 : i / inner]
                let expected = Int8(max(-127, min(127, (trained[i] / s).rounded(.toNearestOrEven))))
                #expect(codes[i] == expected, "\(dq.inputs[0])[\(i)]")
            }
            let before = try #require(reference.graph.initializers[dq.inputs[0]]).scalars(as: Int8.self)
            changed += zip(before, codes).filter { $0 != $1 }.count
        }
        #expect(changed > 0)
        // Both executors agree on the written model.
        let x = QuantizeFixtures.inputs(1, seed: 31)[0]
        let ref = try #require(try ReferenceExecutor(model: result.model).run(x)["y"]).scalars(as: Float.self)
        let runner = TechniqueRunner(threads: nil)
        let ours = try #require(try runner.run(result.model, inputs: x)["y"]).scalars(as: Float.self)
        let err = zip(ref, ours).map { abs($0 - $1) }.max() ?? 1
        #expect(err < 0.05, "runtime vs reference: \(err)")
    }

    @Test func errorsSayWhatIsMissing() async throws {
        let ctx = TechniqueContext(samples: QuantizeFixtures.samples(2), runner: TechniqueRunner(threads: nil))
        await #expect { try await QATTechnique(parameters: [:]).apply(to: QuantizeFixtures.net(), in: ctx) } throws: { e in
            "\(e)".contains("params.dataset")
        }
        var g = Graph(name: "relu")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.value(1), .value(3), .value(4), .value(4)]))]
        g.nodes = [Node(name: "r", opType: "Relu", inputs: ["x"], outputs: ["y"])]
        g.outputs = [ValueInfo(name: "y", type: TensorType(elementType: .f32, shape: [.value(1), .value(3), .value(4), .value(4)]))]
        await #expect { try await run(model: Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])) } throws: { e in
            "\(e)".contains("no quantizable layers")
        }
        #expect(throws: TechniqueError.self) { try QATTechnique(parameters: ["freezeScales": "weights"]) }
        for e in QATTechnique.descriptor.examples { _ = try QATTechnique(parameters: e.parameters) }
    }
}
