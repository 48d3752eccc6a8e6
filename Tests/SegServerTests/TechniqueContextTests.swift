import Foundation
import SegGraph
import SegProtocol
import SegServer
import SegTechnique
import SegTensor
import Testing

/// A test technique whose outcome the test chooses: a budget miss, a dry run, or an error.
struct ScriptedTechnique: Technique {
    static let descriptor = TechniqueDescriptor(
        id: "scripted", summary: "Returns what its parameter says (test only)",
        parameters: ["type": "object", "additionalProperties": false, "required": ["outcome"],
                     "properties": ["outcome": ["enum": ["miss", "dryRun", "badParameter", "notApplicable"]]]],
        examples: [.init(summary: "a missed budget", parameters: ["outcome": "miss"])])

    let outcome: String

    init(parameters: JSONValue) throws(TechniqueError) {
        try Self.descriptor.validate(parameters)
        outcome = parameters["outcome"]?.stringValue ?? ""
    }

    func apply(to model: Model, in context: TechniqueContext) async throws -> TechniqueResult {
        switch outcome {
        case "miss":
            return TechniqueResult(model: model, budgetMisses: [BudgetMiss(parameter: "maxMiouDrop", limit: 0.001, achieved: 0.004, note: "best found")])
        case "dryRun":
            return TechniqueResult(model: model, dryRun: true)
        case "badParameter":
            throw TechniqueError.invalidParameter(name: "excludeNodes", reason: "the model has no node named 'x'")
        default:
            throw TechniqueError.notApplicable("needs BatchNormalization nodes")
        }
    }
}

@Suite struct TechniqueContextTests {
    /// x → Relu → y → Neg → z, output z only.
    static func reluNeg() -> Model {
        let type = TensorType(elementType: .f32, shape: [.value(1), .value(4)])
        return Model(graph: Graph(nodes: [Node(name: "relu", opType: "Relu", inputs: ["x"], outputs: ["y"]),
                                         Node(name: "neg", opType: "Neg", inputs: ["y"], outputs: ["z"])],
                                  inputs: [ValueInfo(name: "x", type: type)], outputs: [ValueInfo(name: "z", type: type)]))
    }

    @Test func runnerReturnsOutputsAndObservedIntermediates() throws {
        let runner = TechniqueRunner(threads: 1)
        let x = try Tensor(dims: [1, 4], scalars: [Float(-2), -0.5, 0.5, 3])
        let plain = try runner.run(Self.reluNeg(), inputs: ["x": x])
        #expect(Set(plain.keys) == ["z"])
        #expect(try plain["z"]?.scalars(as: Float.self) == [0, 0, -0.5, -3])
        let observed = try runner.prepare(Self.reluNeg(), observing: ["y"]).run(["x": x])
        #expect(try observed["y"]?.scalars(as: Float.self) == [0, 0, 0.5, 3])
        #expect(try observed["z"]?.scalars(as: Float.self) == [0, 0, -0.5, -3])
        let cut = try runner.run(Self.reluNeg().cut(at: ["y"]), inputs: ["x": x])
        #expect(Set(cut.keys) == ["y"])
    }

    @Test func techniquesWithoutARunnerSaySo() {
        #expect(throws: TechniqueError.notApplicable("calibration needs a model runner, and this context has none")) {
            try TechniqueContext().requireRunner(for: "calibration")
        }
        #expect(TechniqueContext().trainer == nil)
    }

    func client() async throws -> TestClient {
        let core = ServerCore(configuration: .init(), registry: try TechniqueRegistry([ScriptedTechnique.self]))
        let c = TestClient(core: core)
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(CompressMethodTests.fixture("relu.onnx")), "id": "m"])
        return c
    }

    @Test func budgetMissesReachTheReport() async throws {
        let c = try await client()
        let r = try await c.call(2, "model/compress", ["id": "m", "technique": "scripted", "params": ["outcome": "miss"], "benchmarkRuns": 0])
        let misses = r["result"]?["report"]?["budgetMisses"]?.arrayValue
        #expect(misses == [["technique": "scripted", "parameter": "maxMiouDrop", "limit": 0.001, "achieved": 0.004, "note": "best found"]], "\(r)")
    }

    @Test func aDryRunKeepsNoModel() async throws {
        let c = try await client()
        let r = try await c.call(2, "model/compress", ["id": "m", "technique": "scripted", "params": ["outcome": "dryRun"]])
        #expect(r["result"]?["dryRun"] == true, "\(r)")
        #expect(r["result"]?["id"] == .null)
        let list = try await c.call(3, "model/list", [:])
        #expect(list["result"]?["models"]?.arrayValue?.count == 1)
    }

    /// One mapping: a bad parameter found while applying is InvalidParams naming the step's
    /// field, a technique that cannot apply is TechniqueFailed, in compress and pipeline alike.
    @Test func techniqueErrorsMapOneWay() async throws {
        let c = try await client()
        let bad = try await c.call(2, "model/compress", ["id": "m", "technique": "scripted", "params": ["outcome": "badParameter"]])
        #expect(bad.errorCode == -32602)
        #expect(bad["error"]?["message"] == "params.params: technique 'scripted': parameter 'excludeNodes': the model has no node named 'x'")
        let na = try await c.call(3, "model/pipeline", ["id": "m", "steps": [["technique": "scripted", "params": ["outcome": "miss"]],
                                                                            ["technique": "scripted", "params": ["outcome": "notApplicable"]]]])
        #expect(na.errorCode == -33007)
        #expect(na["error"]?["message"] == "technique 'scripted': not applicable: needs BatchNormalization nodes")
        let schema = try await c.call(4, "model/pipeline", ["id": "m", "steps": [["technique": "scripted", "params": ["outcome": "miss"]],
                                                                                ["technique": "scripted", "params": ["outcome": 3]]]])
        #expect(schema.errorCode == -32602)
        #expect(schema["error"]?["message"]?.stringValue?.hasPrefix("params.steps[1].params: technique 'scripted': parameter 'outcome'") == true, "\(schema)")
    }
}
