import Foundation
import SegGraph
import SegProtocol
import SegServer
import SegTensor
import Testing

/// What a resident model is charged: its initializers and bookkeeping at load, then also the
/// plans its runner compiles (packed weights and arena), everywhere memory is reported.
@Suite struct ResidentMemoryTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    @Test func aCompiledModelIsChargedItsWeightsAndArena() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "m"])
        // tiny_conv_seg: w1 [4,3,3,3], b1 [4], w2 [3,4,1,1], b2 [3] = 127 floats, plus 4096.
        let initializerBytes: Int64 = 127 * 4
        var nextID: Int64 = 100
        func listed() async throws -> Int64? {
            nextID += 1
            return try await c.call(nextID, "model/list")["result"]?["models"]?.arrayValue?.first?["residentBytes"]?.intValue
        }
        #expect(try await listed() == initializerBytes + 4096)

        let (h, w) = (8, 8)
        let image = try Tensor(dims: [1, 3, h, w], scalars: (0..<(3 * h * w)).map { Float($0 % 7) / 7 })
        let run = try await c.call(2, "model/run", ["id": "m", "inputs": ["image": ["dtype": "f32", "shape": [1, 3, .int(Int64(h)), .int(Int64(w))],
                                                                                     "data": .string(Data(image.bytes).base64EncodedString())]]])
        #expect(run["result"]?["outputs"]?.arrayValue?.count == 1, "\(run)")
        let compiled = try #require(try await listed())
        // Lower bounds from the graph alone: while conv2 runs, its input (relu1's 4 channels)
        // and its output (3 channels) live in the arena at once; the steps keep at least every
        // weight and bias (packing only pads).
        let arenaAtLeast = Int64((4 + 3) * h * w * 4)
        let weightsAtLeast = initializerBytes
        #expect(compiled >= initializerBytes + 4096 + arenaAtLeast + weightsAtLeast)
        #expect(try await c.call(3, "server/status")["result"]?["residentBytes"]?.intValue == compiled)
        #expect(try await c.call(4, "model/info", ["id": "m"])["result"]?["residentBytes"]?.intValue == compiled)

        // The same shape again reuses the plan: no new charge.
        _ = try await c.call(5, "model/run", ["id": "m", "inputs": ["image": ["dtype": "f32", "shape": [1, 3, .int(Int64(h)), .int(Int64(w))],
                                                                               "data": .string(Data(image.bytes).base64EncodedString())]]])
        #expect(try await listed() == compiled)
        #expect(try await c.call(6, "model/unload", ["id": "m"])["result"]?["freedBytes"]?.intValue == compiled)
        #expect(try await c.call(7, "server/status")["result"]?["residentBytes"]?.intValue == 0)
    }

    @Test func compiledPlansCountAgainstTheBudget() async throws {
        // Room for the model as loaded, and for a second copy, but not once the first has
        // compiled a plan for a large input.
        let base: Int64 = 127 * 4 + 4096
        let c = TestClient(core: ServerCore(configuration: .init(memoryBudgetBytes: 2 * base + 1000)))
        try await c.initialize()
        #expect(try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "a"])["result"] != nil)
        #expect(try await c.call(4, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "b"])["result"] != nil)
        #expect(try await c.call(5, "model/unload", ["id": "b"])["result"] != nil)
        let (h, w) = (16, 16)
        let image = try Tensor(dims: [1, 3, h, w], scalars: [Float](repeating: 0.5, count: 3 * h * w))
        _ = try await c.call(2, "model/run", ["id": "a", "inputs": ["image": ["dtype": "f32", "shape": [1, 3, .int(Int64(h)), .int(Int64(w))],
                                                                               "data": .string(Data(image.bytes).base64EncodedString())]]])
        let refused = try await c.call(3, "model/load", ["path": .string(Self.fixture("tiny_conv_seg.onnx")), "id": "b"])
        #expect(refused.errorCode == -33006)
    }

    @Test func plansATechniqueCompilesAreChargedWhileItHoldsThem() async throws {
        let store = ModelStore(budgetBytes: 1 << 30)
        let runner = TechniqueRunner(threads: 1, ledger: store.transientPlans)
        let x = try Tensor(dims: [1, 4], scalars: [Float(-2), -0.5, 0.5, 3])
        do {
            let prepared = try runner.prepare(TechniqueContextTests.reluNeg())
            #expect(store.transientPlans.bytes == 0)  // nothing compiled before the first run
            _ = try prepared.run(["x": x])
            // At least the input's 4 floats, planned at a 16-float (64-byte) boundary.
            #expect(store.transientPlans.bytes >= 64)
            #expect(await store.residentBytes == Int64(store.transientPlans.bytes))
        }
        #expect(store.transientPlans.bytes == 0)
        #expect(await store.residentBytes == 0)
    }
}
