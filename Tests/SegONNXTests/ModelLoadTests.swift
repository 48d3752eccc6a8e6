import Foundation
import Testing
import SegGraph
import SegTensor
@testable import SegONNX

/// Loading fixtures written by the python `onnx` package (tools/fixtures/make_onnx_fixtures.py).
@Suite struct ModelLoadTests {
    @Test func tinyConv() throws {
        let model = try ONNX.load(contentsOf: Fixtures.url("tiny_conv.onnx"))
        #expect(model.irVersion == 8)
        #expect(model.opsetImports == [OpsetImport(domain: "", version: 17)])
        #expect(model.opsetVersion(for: "ai.onnx") == 17)
        #expect(model.producerName == "segslim-fixtures")
        #expect(model.producerVersion == "1.0")
        #expect(model.modelVersion == 3)
        #expect(model.docString == "tiny conv model")
        #expect(model.metadata == ["author": "fixtures", "classes": "11"])

        let graph = model.graph
        #expect(graph.name == "tiny_conv")
        #expect(graph.docString == "a tiny graph")
        #expect(graph.nodes.map(\.opType) == ["Conv", "Relu", "Add"])
        #expect(graph.nodes.map(\.name) == ["conv0", "relu0", "add0"])
        #expect(graph.nodes[0].inputs == ["image", "w", "b"])
        #expect(graph.nodes[0][attribute: "kernel_shape"] == .ints([3, 3]))
        #expect(graph.nodes[0][attribute: "pads"] == .ints([1, 1, 1, 1]))
        #expect(graph.initializers.names == ["w", "b", "bias2"])
        #expect(graph.inputs.map(\.name) == ["image"])
        #expect(graph.inputs[0].type == TensorType(elementType: .f32, shape: [.param("N"), .value(3), .value(8), .value(8)]))
        #expect(graph.valueInfo.map(\.name) == ["conv", "relu"])
        #expect(graph.valueInfo[1].type == TensorType(elementType: .f32, shape: nil))

        let weights = try #require(graph.initializers["w"])
        #expect(weights == (try Fixtures.npy("tiny_conv.w.npy")))
        #expect(try graph.topologicalOrder() == [0, 1, 2])
    }

    /// (attributes.onnx is not byte-identical: the IR drops the names of attribute tensors and
    /// writes an explicitly empty opset domain as unset.)
    @Test("writing a loaded model reproduces the python-written bytes exactly", arguments: ["tiny_conv.onnx"])
    func encodesIdentically(name: String) throws {
        let original = try Fixtures.bytes(name)
        let model = try ONNX.decode(original)
        #expect(try ONNX.encode(model) == original)
    }

    @Test("round trip load → write → load gives an equal model", arguments: [
        "tiny_conv.onnx", "typed_fields.onnx", "attributes.onnx", "functions.onnx",
    ])
    func roundTrip(name: String) throws {
        let model = try ONNX.load(contentsOf: Fixtures.url(name))
        let bytes = try ONNX.encode(model)
        let reloaded = try ONNX.decode(bytes)
        #expect(reloaded == model)
        #expect(try ONNX.encode(reloaded) == bytes)
    }

    @Test("typed data fields (float_data, int32_data, int64_data, double_data, uint64_data) match numpy",
          arguments: ["f32", "f16", "f64", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "bool", "scalar_i64", "empty_f32"])
    func typedFields(name: String) throws {
        let model = try ONNX.load(contentsOf: Fixtures.url("typed_fields.onnx"))
        let tensor = try #require(model.graph.initializers[name])
        #expect(tensor == (try Fixtures.npy("typed/\(name).npy")))
    }

    @Test func allAttributeKinds() throws {
        let model = try ONNX.load(contentsOf: Fixtures.url("attributes.onnx"))
        #expect(model.opsetVersion(for: "com.segslim.test") == 1)
        let node = model.graph.nodes[0]
        #expect(node.domain == "com.segslim.test")
        #expect(node[attribute: "i"] == .int(-5))
        #expect(node[attribute: "f"] == .float(0.25))
        #expect(node[attribute: "s"] == .string("nearest"))
        #expect(node[attribute: "ints"] == .ints([3, -1, 0]))
        #expect(node[attribute: "floats"] == .floats([1.5, -2.0]))
        #expect(node[attribute: "strings"] == .strings(["a", "bé"]))
        #expect(node[attribute: "empty_ints"] == .ints([]))
        let matrix = try Tensor(dims: [2, 2], scalars: [1, 2, 3, 4] as [Int32])
        #expect(node[attribute: "t"] == .tensor(matrix))
        #expect(node[attribute: "tensors"] == .tensors([matrix, try Tensor(dims: [1], scalars: [7] as [Float])]))
        #expect(node[attribute: "g"]?.graphValue?.name == "then_branch")
        #expect(node[attribute: "graphs"]?.subgraphs.map(\.name) == ["then_branch", "else_branch"])

        // The If branches read the outer value "x"; it counts as an implicit input.
        let ifNode = model.graph.nodes[1]
        #expect(ifNode.subgraphReferences == ["x"])
        #expect(ifNode[attribute: "else_branch"]?.graphValue?.nodes.map(\.opType) == ["Neg"])
        #expect(model.graph.opCounts == ["AllAttrs": 1, "If": 1, "Identity": 3, "Neg": 2])
    }

    @Test("model-local functions are inlined with renamed values and resolved attributes")
    func functionsInlined() throws {
        let model = try ONNX.load(contentsOf: Fixtures.url("functions.onnx"))
        let nodes = model.graph.nodes
        #expect(nodes.map(\.opType) == ["MatMul", "Add", "LeakyRelu", "MatMul", "Add", "LeakyRelu"])
        #expect(nodes.map(\.name) == ["layer1/MatMul_0", "layer1/Add_1", "layer1/LeakyRelu_2",
                                      "layer2/MatMul_0", "layer2/Add_1", "layer2/LeakyRelu_2"])
        #expect(nodes[0].inputs == ["x", "w1"])
        #expect(nodes[0].outputs == ["layer1/mm"])
        #expect(nodes[2].outputs == ["h"])
        #expect(nodes[3].inputs == ["h", "w2"])
        #expect(nodes[5].outputs == ["y"])
        #expect(nodes[2][attribute: "alpha"] == .float(0.2))   // the call's value
        #expect(nodes[5][attribute: "alpha"] == .float(0.01))  // the function's default
        #expect(model.opsetVersion(for: "") == 17)
        try model.graph.validate()
    }

    @Test func externalData() throws {
        let model = try ONNX.load(contentsOf: Fixtures.url("external/model.onnx"))
        #expect(model.graph.initializers["w"] == (try Fixtures.npy("external.w.npy")))
        #expect(try model.graph.initializers["b"]?.scalars(as: Int64.self) == [0, 1, 2, 3, 4])
        // Without a 'length' entry the tensor's own size is read.
        let noLength = try ONNX.load(contentsOf: Fixtures.url("external/nolength.onnx"))
        #expect(noLength.graph.initializers == model.graph.initializers)
        // Writing puts the data inline.
        let inline = try ONNX.decode(try ONNX.encode(model))
        #expect(inline.graph.initializers == model.graph.initializers)
    }

    @Test("external data outside the model's folder or missing is refused", arguments: [
        ("external/escape.onnx", "'..'"),
        ("external/absolute.onnx", "absolute"),
        ("external/missing.onnx", "not found"),
    ])
    func externalDataRefused(name: String, reason: String) throws {
        let url = try Fixtures.url(name)
        let error = onnxError { _ = try ONNX.load(contentsOf: url) }
        guard case .externalData(let tensor, _, let message)? = error else {
            Issue.record("expected an external data error, got \(String(describing: error))")
            return
        }
        #expect(tensor == "w")
        #expect(message.contains(reason), "\(message)")
    }

    @Test func externalDataNeedsAFolder() throws {
        let bytes = try Fixtures.bytes("external/model.onnx")
        let error = onnxError { _ = try ONNX.decode(bytes) }
        guard case .externalData(_, let location, let message)? = error else {
            Issue.record("expected an external data error, got \(String(describing: error))")
            return
        }
        #expect(location == "weights.bin")
        #expect(message.contains("not loaded from a file"))
    }

    @Test("a symlink that leads out of the model's folder is refused")
    func externalSymlinkEscape() throws {
        let outside = try temporaryFolder()
        let modelFolder = try temporaryFolder()
        defer {
            try? FileManager.default.removeItem(at: outside)
            try? FileManager.default.removeItem(at: modelFolder)
        }
        try FileManager.default.copyItem(at: Fixtures.url("external/weights.bin"), to: outside.appendingPathComponent("weights.bin"))
        try FileManager.default.copyItem(at: Fixtures.url("external/model.onnx"), to: modelFolder.appendingPathComponent("model.onnx"))
        try FileManager.default.createSymbolicLink(at: modelFolder.appendingPathComponent("weights.bin"),
                                                   withDestinationURL: outside.appendingPathComponent("weights.bin"))
        let error = onnxError { _ = try ONNX.load(contentsOf: modelFolder.appendingPathComponent("model.onnx")) }
        guard case .externalData(_, _, let message)? = error else {
            Issue.record("expected an external data error, got \(String(describing: error))")
            return
        }
        #expect(message.contains("outside the model's folder"), "\(message)")

        // A symlink that stays inside the folder is fine.
        try FileManager.default.removeItem(at: modelFolder.appendingPathComponent("weights.bin"))
        try FileManager.default.copyItem(at: Fixtures.url("external/weights.bin"), to: modelFolder.appendingPathComponent("real.bin"))
        try FileManager.default.createSymbolicLink(at: modelFolder.appendingPathComponent("weights.bin"),
                                                   withDestinationURL: modelFolder.appendingPathComponent("real.bin"))
        _ = try ONNX.load(contentsOf: modelFolder.appendingPathComponent("model.onnx"))
    }
}
