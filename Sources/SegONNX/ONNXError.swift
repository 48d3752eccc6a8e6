import SegGraph
import SegTensor

/// Why an ONNX model could not be read or written.
///
/// Wire-level cases carry the protobuf message being decoded and the absolute byte offset in
/// the file; model-level cases name the tensor, node, attribute or function at fault.
package enum ONNXError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input ends in the middle of a field.
    case truncated(message: String, offset: Int)
    /// A varint longer than 10 bytes.
    case malformedVarint(message: String, offset: Int)
    /// Field number 0 or above 2^29 − 1, or wire type 6/7.
    case invalidKey(message: String, offset: Int, key: UInt64)
    /// A known field arrived with a wire type that cannot hold its declared type.
    case wrongWireType(message: String, field: Int, expected: String, actual: Int, offset: Int)
    case nestingTooDeep(message: String, offset: Int, limit: Int)
    case invalidUTF8(message: String, field: Int, offset: Int)
    /// The protobuf is well formed but the model is not (inconsistent sizes, missing data...).
    case invalidModel(String)
    /// A valid ONNX feature SegSlim does not handle.
    case unsupported(String)
    /// A tensor's external data could not be resolved or read.
    case externalData(tensor: String, location: String, message: String)
    case io(path: String, message: String)
    /// The decoded graph is not well formed.
    case invalidGraph(GraphError)

    package var description: String {
        switch self {
        case .truncated(let message, let offset):
            "\(message): input ends inside a field at byte \(offset)"
        case .malformedVarint(let message, let offset):
            "\(message): malformed varint (more than 10 bytes) at byte \(offset)"
        case .invalidKey(let message, let offset, let key):
            "\(message): invalid field key \(key) (field \(key >> 3), wire type \(key & 7)) at byte \(offset)"
        case .wrongWireType(let message, let field, let expected, let actual, let offset):
            "\(message) field \(field): expected \(expected), found wire type \(actual) at byte \(offset)"
        case .nestingTooDeep(let message, let offset, let limit):
            "\(message): messages nested more than \(limit) deep at byte \(offset)"
        case .invalidUTF8(let message, let field, let offset):
            "\(message) field \(field): string is not valid UTF-8 at byte \(offset)"
        case .invalidModel(let message), .unsupported(let message):
            message
        case .externalData(let tensor, let location, let message):
            "external data '\(location)' of tensor '\(tensor)': \(message)"
        case .io(let path, let message):
            "\(path): \(message)"
        case .invalidGraph(let error):
            "invalid graph: \(error.description)"
        }
    }
}
