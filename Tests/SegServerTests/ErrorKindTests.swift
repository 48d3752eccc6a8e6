import Foundation
import SegGraph
import SegONNX
import SegProtocol
import SegServer
import Testing

/// Nothing a user can feed in answers InternalError (-32603): absurd declared shapes are
/// InvalidModel at load, a model that cannot take images is InvalidParams at segment.
@Suite struct ErrorKindTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    /// `tiny_seg.onnx` with its input declared as `dims` (and written to a temporary file).
    static func withInput(_ dims: [SegGraph.Dimension], base: String = "tiny_seg.onnx") throws -> String {
        var model = try ONNX.load(contentsOf: URL(fileURLWithPath: fixture(base)))
        let name = model.graph.runtimeInputs[0].name
        let i = try #require(model.graph.inputs.firstIndex { $0.name == name })
        model.graph.inputs[i].type = TensorType(elementType: .f32, shape: dims)
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-kind-\(UUID().uuidString).onnx")
        try Data(try ONNX.encode(model)).write(to: url)
        return url.path
    }

    @Test func hugeDeclaredInputIsInvalidModelAtLoad() async throws {
        let c = TestClient()
        try await c.initialize()
        let path = try Self.withInput([.value(1), .value(3), .value(65535), .value(65535)])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try await c.call(1, "model/load", ["path": .string(path)])
        #expect(r.errorCode == -33002, "\(r)")
        #expect(r.errorMessage.contains("65535"), "\(r.errorMessage)")
        #expect(try await c.call(2, "server/status")["result"] != nil)
    }

    @Test func nineteenChannelInputIsInvalidParamsAtSegment() async throws {
        let c = TestClient()
        try await c.initialize()
        let path = try Self.withInput([.value(1), .value(19), .param("h"), .param("w")])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let load = try await c.call(1, "model/load", ["path": .string(path), "id": "m19"])
        #expect(load["result"] != nil, "\(load)")
        let r = try await c.call(2, "model/segment", ["id": "m19", "images": [.string(Self.fixture("tinyseg/images/s0.png"))]])
        #expect(r.errorCode == -32602, "\(r)")
        #expect(r.errorMessage.contains("19"), "\(r.errorMessage)")
        #expect(r.errorMessage.contains("takes 3"), "\(r.errorMessage)")
    }

    /// A fixed input size the image does not have, with resizing turned off: the image is at
    /// fault, and the message names it and what the model expects.
    @Test func imageTheModelCannotTakeIsInvalidParams() async throws {
        let c = TestClient()
        try await c.initialize()
        let path = try Self.withInput([.value(1), .value(3), .value(32), .value(32)])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let load = try await c.call(1, "model/load", ["path": .string(path), "id": "fixed", "preprocessing": ["resize": "none"]])
        #expect(load["result"] != nil, "\(load)")
        let r = try await c.call(2, "model/segment", ["id": "fixed", "images": [.string(Self.fixture("tinyseg/images/s0.png"))]])
        #expect(r.errorCode == -32602, "\(r)")
        #expect(r.errorMessage.contains("params.images[0]") && r.errorMessage.contains("32"), "\(r.errorMessage)")
        // The same model on a dataset of other sizes: the input's fault, not ours.
        let e = try await c.call(3, "model/evaluate", ["id": "fixed", "dataset": .string(Self.fixture("tinyseg"))])
        #expect(e.errorCode == -32602, "\(e)")
        #expect(e.errorMessage.contains("32"), "\(e.errorMessage)")
    }
}
