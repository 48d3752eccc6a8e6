import Foundation
import SegGraph
import SegReference
import SegTensor
import Testing
@testable import SegONNX

/// Mutated ONNX files through the whole load path (decode → validate → support check), as the
/// daemon's `model/load` runs it. Every outcome must be a model or a typed error, never a crash;
/// a file cut short must always be an error; a declared size larger than the file must be
/// refused before anything is allocated for it. Fixed seed so a failure reproduces;
/// `SEGSLIM_FUZZ_ONNX=N` runs N cases instead of 1,000 (the benchmark setting is 10,000).
@Suite struct ModelFuzzTests {
    static let sources = ["tiny_conv.onnx", "attributes.onnx", "functions.onnx", "typed_fields.onnx"]
    static var count: Int { Int(ProcessInfo.processInfo.environment["SEGSLIM_FUZZ_ONNX"] ?? "") ?? 1000 }

    enum Outcome: Equatable { case loaded, refused }

    /// The daemon's load path without the daemon. A refusal must be the error its stage is
    /// documented to throw, of a kind that blames the file: decode an `ONNXError` (not `.io`:
    /// nothing is read from disk here), validation a `GraphError`, the executor's support check
    /// an `ExecutionError` about the model (unsupported ops, graph, a node), shape inference
    /// one of those or an `OpError`, `ConvGeometryError` or `TensorError` naming what is wrong.
    static func load(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
        var stage = "decode"
        do {
            let model = try ONNX.decode(bytes)
            stage = "validate"
            try model.graph.validate()
            stage = "executor"
            _ = try ReferenceExecutor(model: model)
            stage = "shapes"
            _ = try ShapeInference(model: model)
            return .loaded
        } catch {
            #expect(isFileError(error, stage: stage), "\(stage) refused with \(type(of: error)): \(error)", sourceLocation: sourceLocation)
            return .refused
        }
    }

    static func isFileError(_ error: any Error, stage: String) -> Bool {
        switch (stage, error) {
        case ("decode", let e as ONNXError):
            if case .io = e { return false }
            return true
        case ("validate", is GraphError): return true
        case ("executor", let e as ExecutionError), ("shapes", let e as ExecutionError):
            switch e {
            case .unsupported, .graph, .node: return true
            case .missingInput, .unknownInput, .unknownOutput, .inputMismatch, .cancelled: return false
            }
        case ("shapes", is OpError), ("shapes", is ConvGeometryError), ("shapes", is TensorError), ("shapes", is GraphError): return true
        default: return false
        }
    }

    /// Offsets of every length-delimited field header (key + length varint) in a message tree,
    /// found by walking the bytes as protobuf; used to plant absurd declared sizes.
    static func lengthFields(_ bytes: [UInt8]) -> [(lengthOffset: Int, lengthBytes: Int)] {
        var found: [(Int, Int)] = []
        var i = 0
        func varint(_ at: inout Int) -> UInt64? {
            var v: UInt64 = 0, shift: UInt64 = 0
            while at < bytes.count && shift < 64 {
                let b = bytes[at]; at += 1
                v |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
            }
            return nil
        }
        while i < bytes.count {
            guard let key = varint(&i) else { break }
            switch key & 7 {
            case 0: guard varint(&i) != nil else { return found }
            case 1: i += 8
            case 5: i += 4
            case 2:
                let start = i
                guard let n = varint(&i), n <= UInt64(bytes.count - i) else { return found }
                found.append((start, i - start))
                i += Int(n)
            default: return found
            }
        }
        return found
    }

    /// Byte offsets where a top-level ModelProto field ends.
    static func topLevelBoundaries(_ bytes: [UInt8]) -> Set<Int> {
        var reader = ProtoReader(bytes: bytes, message: "ModelProto")
        var ends: Set<Int> = []
        while let field = try? reader.next(), field > 0 {
            guard (try? reader.skip()) != nil else { break }
            ends.insert(reader.offset)
        }
        return ends
    }

    @Test func mutatedModelsNeverCrashTheLoader() throws {
        var rng = SeededGenerator(seed: 0x0_4E_4E_58)
        let originals = try Self.sources.map { try Fixtures.bytes($0) }
        var refused = 0, loaded = 0, truncations = 0
        for n in 0..<Self.count {
            let original = originals[n % originals.count]
            var bytes = original
            switch rng.int(5) {
            case 0:  // bit flips
                for _ in 0...rng.int(4) { bytes[rng.int(bytes.count)] ^= UInt8(1) << UInt8(rng.int(8)) }
            case 1:  // truncation anywhere
                bytes = Array(bytes[..<rng.int(bytes.count)])
                truncations += 1
                // Protobuf has no end marker: a cut exactly between two top-level fields, after
                // every required one (graph, ir_version, opset_import), is a smaller valid model
                // (e.g. without its trailing metadata_props). Every other cut must be refused.
                if !Self.topLevelBoundaries(original).contains(bytes.count) {
                    #expect(Self.load(bytes) == .refused, "case \(n): a file cut to \(bytes.count) of \(original.count) bytes loaded")
                }
            case 2:  // swap two top-level fields' bytes ranges of equal length, or two random bytes
                let a = rng.int(bytes.count), b = rng.int(bytes.count)
                bytes.swapAt(a, b)
            case 3:  // absurd declared size in a length-delimited field
                let fields = Self.lengthFields(bytes)
                if let f = fields.isEmpty ? nil : fields[rng.int(fields.count)] {
                    let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]  // 4 GiB - 1
                    bytes.replaceSubrange((f.lengthOffset)..<(f.lengthOffset + f.lengthBytes), with: huge)
                    #expect(Self.load(bytes) == .refused, "case \(n): a 4 GiB declared length loaded")
                }
            default:  // random bytes spliced in
                let at = rng.int(bytes.count)
                bytes.insert(contentsOf: (0..<(1 + rng.int(16))).map { _ in rng.byte() }, at: at)
            }
            switch Self.load(bytes) {
            case .loaded: loaded += 1
            case .refused: refused += 1
            }
        }
        #expect(refused + loaded == Self.count)
        #expect(truncations > Self.count / 10)
        #expect(refused > Self.count / 2, "most mutations should be refused (refused \(refused), loaded \(loaded))")
    }
}
