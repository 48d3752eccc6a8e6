import Foundation
import SegGraph

/// Reading and writing ONNX model files.
///
/// ```swift
/// let model = try ONNX.load(contentsOf: url)   // decoded, functions inlined, validated
/// try ONNX.write(model, to: outURL)            // tensors written inline as raw_data
/// ```
public enum ONNX {
    /// Loads a `.onnx` file. External tensor data is resolved relative to the file's folder.
    public static func load(contentsOf url: URL) throws(ONNXError) -> Model {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw .io(path: url.path, message: "cannot read: \(error.localizedDescription)")
        }
        return try decode([UInt8](data), baseDirectory: url.deletingLastPathComponent())
    }

    /// Decodes ModelProto bytes. `baseDirectory` locates external data; without it a model with
    /// external tensors is refused.
    public static func decode(_ bytes: [UInt8], baseDirectory: URL? = nil) throws(ONNXError) -> Model {
        let model = try ModelProtoDecoder.decode(bytes, context: DecodeContext(baseDirectory: baseDirectory))
        do { try model.graph.validate() } catch { throw .invalidGraph(error) }
        return model
    }

    /// ModelProto bytes for `model`, every tensor inline as `raw_data`.
    public static func encode(_ model: Model) throws(ONNXError) -> [UInt8] {
        try ModelProtoEncoder.encode(model)
    }

    public static func write(_ model: Model, to url: URL) throws(ONNXError) {
        let bytes = try encode(model)
        do { try Data(bytes).write(to: url, options: .atomic) } catch {
            throw .io(path: url.path, message: "cannot write: \(error.localizedDescription)")
        }
    }
}
