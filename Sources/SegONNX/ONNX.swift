import Foundation
import SegGraph

/// Reading and writing ONNX model files.
///
/// ```swift
/// let model = try ONNX.load(contentsOf: url)   // decoded, functions inlined, validated
/// try ONNX.write(model, to: outURL)            // tensors written inline as raw_data
/// ```
package enum ONNX {
    /// Loads a `.onnx` file. External tensor data is resolved relative to the file's folder.
    package static func load(contentsOf url: URL) throws(ONNXError) -> Model {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw .io(path: url.path, message: "cannot read: \(error.localizedDescription)")
        }
        return try decode([UInt8](data), baseDirectory: url.deletingLastPathComponent())
    }

    /// Decodes ModelProto bytes. `baseDirectory` locates external data; without it a model with
    /// external tensors is refused.
    package static func decode(_ bytes: [UInt8], baseDirectory: URL? = nil) throws(ONNXError) -> Model {
        let model: Model
        do { model = try ModelProtoDecoder.decode(bytes, context: DecodeContext(baseDirectory: baseDirectory)) } catch {
            throw notAModel(bytes, error)
        }
        do { try model.graph.validate() } catch { throw .invalidGraph(error) }
        return model
    }

    /// A wire-format error in the first bytes means the file is not an ONNX model at all (an
    /// image, a text file, a truncated download): say that, and what it looks like, instead of
    /// protobuf details a user cannot act on. Errors deeper in the file keep their offsets.
    static func notAModel(_ bytes: [UInt8], _ error: ONNXError) -> ONNXError {
        let kinds: [([UInt8], String)] = [([0x89, 0x50, 0x4E, 0x47], "a PNG image"), ([0xFF, 0xD8, 0xFF], "a JPEG image"),
                                          ([0x50, 0x4B, 0x03, 0x04], "a zip archive (a PyTorch .pt/.pth checkpoint?)"),
                                          ([0x80], "a Python pickle (a PyTorch checkpoint?)"), ([0x7B], "JSON"), ([0x3C], "XML or HTML")]
        let kind = kinds.first { bytes.starts(with: $0.0) }?.1
        let offset: Int
        switch error {
        case .invalidKey(_, let o, _), .wrongWireType(_, _, _, _, let o), .malformedVarint(_, let o), .truncated(_, let o): offset = o
        default: return error
        }
        // A known other format anywhere, or a first field key that is already wrong.
        guard kind != nil || offset == 0 else { return error }
        return .invalidModel("not an ONNX model\(kind.map { "; it looks like \($0)" } ?? "") (\(error.description))")
    }

    /// ModelProto bytes for `model`, every tensor inline as `raw_data`.
    package static func encode(_ model: Model) throws(ONNXError) -> [UInt8] {
        try ModelProtoEncoder.encode(model)
    }

    package static func write(_ model: Model, to url: URL) throws(ONNXError) {
        let bytes = try encode(model)
        do { try Data(bytes).write(to: url, options: .atomic) } catch {
            throw .io(path: url.path, message: "cannot write: \(error.localizedDescription)")
        }
    }
}
