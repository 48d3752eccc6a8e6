import Foundation
import Testing
import SegGraph
import SegTensor
@testable import SegONNX

/// Malformed input must produce a typed error naming what is wrong, never a crash.
@Suite struct BadModelTests {
    /// Protobuf has no end marker: a file cut exactly between two top-level fields is a valid,
    /// smaller model. Every other cut must be an error.
    @Test("every truncation inside a field is an error", arguments: ["tiny_conv.onnx", "attributes.onnx"])
    func everyTruncation(name: String) throws {
        let bytes = try Fixtures.bytes(name)
        var boundaries: Set<Int> = [0]
        var top = ProtoReader(bytes: bytes, message: "ModelProto")
        while try top.next() != nil {
            try top.skip()
            boundaries.insert(top.offset)
        }
        #expect(boundaries.count > 3)
        for length in 0..<bytes.count {
            let error = onnxError { _ = try ONNX.decode(Array(bytes[..<length])) }
            if boundaries.contains(length) {
                // Either fine or refused for a model-level reason (no graph yet).
                if case .invalidModel? = error { continue }
                #expect(error == nil, "\(name) cut to \(length) bytes: \(String(describing: error))")
            } else {
                #expect(error != nil, "\(name) cut to \(length) bytes decoded without error")
            }
        }
    }

    @Test("flipping bytes never crashes the decoder", arguments: ["attributes.onnx", "functions.onnx", "tiny_conv.onnx"])
    func corruptedBytes(name: String) throws {
        let original = try Fixtures.bytes(name)
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<3 {
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            _ = onnxError { _ = try ONNX.decode(bytes) }  // any outcome but a crash is fine
        }
    }

    /// Files that are not models at all are called that, with what they look like; the wire
    /// detail stays in parentheses for whoever needs it.
    @Test func otherFilesAreNotONNXModels() throws {
        let cases: [([UInt8], String)] = [
            ([0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 0x4A, 0x46], "it looks like a JPEG image"),
            ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "it looks like a PNG image"),
            (Array("# README\nhello".utf8), "not an ONNX model ("),
            ([0x50, 0x4B, 0x03, 0x04, 20, 0, 0, 0], "a zip archive"),
        ]
        for (bytes, expected) in cases {
            do {
                _ = try ONNX.decode(bytes)
                Issue.record("\(expected): decoded")
            } catch {
                #expect(error.description.hasPrefix("not an ONNX model"), "\(error)")
                #expect(error.description.contains(expected), "\(error)")
            }
        }
    }

    @Test func absurdDims() throws {
        let error = onnxError { _ = try ONNX.load(contentsOf: Fixtures.url("absurd_dims.onnx")) }
        guard case .invalidModel(let message)? = error else {
            Issue.record("expected invalidModel, got \(String(describing: error))")
            return
        }
        #expect(message.contains("initializer 'huge'"), "\(message)")
        #expect(message.contains("1099511627776"), "\(message)")
    }

    @Test func shortRawData() throws {
        let error = onnxError { _ = try ONNX.load(contentsOf: Fixtures.url("short_raw_data.onnx")) }
        #expect(error == .invalidModel("initializer 'short': raw_data holds 11 bytes, but dims [3] of f32 need 12"))
    }

    @Test func stringTensorsRefused() throws {
        let error = onnxError { _ = try ONNX.load(contentsOf: Fixtures.url("string_tensor.onnx")) }
        #expect(error == .unsupported("initializer 'labels' is a STRING tensor, which SegSlim does not support"))
    }

    @Test func cycleNamesTheNodes() throws {
        let error = onnxError { _ = try ONNX.load(contentsOf: Fixtures.url("cycle.onnx")) }
        #expect(error == .invalidGraph(.cycle(nodes: ["'first' (Relu)", "'second' (Neg)"])))
    }

    @Test func danglingInputNamesTheNode() throws {
        let error = onnxError { _ = try ONNX.load(contentsOf: Fixtures.url("dangling.onnx")) }
        #expect(error == .invalidGraph(.danglingInput(node: "'reads_nothing' (Relu)", input: "nowhere")))
        #expect(error?.description == "invalid graph: node 'reads_nothing' (Relu) reads value 'nowhere', which no node, graph input or initializer defines")
    }

    @Test("external offsets and lengths that do not fit the file are refused", arguments: [
        ("external/huge_offset.onnx", "past the end"),
        ("external/bad_length.onnx", "does not match"),
        ("external/negative_offset.onnx", "not a non-negative integer"),
    ])
    func externalRanges(name: String, reason: String) throws {
        let error = onnxError { _ = try ONNX.load(contentsOf: Fixtures.url(name)) }
        guard case .externalData(let tensor, _, let message)? = error else {
            Issue.record("expected an external data error, got \(String(describing: error))")
            return
        }
        #expect(tensor == "w")
        #expect(message.contains(reason), "\(message)")
    }

    @Test func missingGraphAndMissingFile() {
        #expect(throws: ONNXError.invalidModel("the model has no graph (ModelProto.graph is missing)")) {
            _ = try ONNX.decode([0x08, 0x08])
        }
        let error = onnxError { _ = try ONNX.load(contentsOf: URL(fileURLWithPath: "/nonexistent/model.onnx")) }
        guard case .io(let path, _)? = error else {
            Issue.record("expected io, got \(String(describing: error))")
            return
        }
        #expect(path == "/nonexistent/model.onnx")
    }
}
