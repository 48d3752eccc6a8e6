import SegONNX
import SegProtocol
import SegReference

/// Model-level errors as wire errors, always naming the file.
enum ModelErrors {
    static func response(for error: any Error, file: String) -> ResponseError {
        switch error {
        case let e as ResponseError: return e
        case let e as ONNXError:
            if case .io(let path, let message) = e { return ResponseError(.fileNotFound, "\(path): \(message)") }
            if case .unsupported(let why) = e { return ResponseError(.unsupportedOperator, "\(file): \(why)") }
            return ResponseError(.invalidModel, "\(file): \(e)")
        case let e as ExecutionError:
            switch e {
            case .unsupported(let uses):
                return ResponseError(.unsupportedOperator, "\(file): \(e)", data: ["unsupported": .array(uses.map { u in
                    ["domain": .string(u.domain.isEmpty ? "ai.onnx" : u.domain), "opType": .string(u.opType), "opset": .int(Int64(u.opset)),
                     "reason": .string(u.reason), "nodes": .array(u.nodes.map(JSONValue.string))]
                })])
            case .graph: return ResponseError(.invalidModel, "\(file): \(e)")
            case .missingInput, .unknownInput, .inputMismatch: return .invalidParams("params.inputs: \(e)")
            case .node: return ResponseError(.internalError, "\(file): \(e)")
            case .cancelled: return .cancelled
            }
        default:
            return ResponseError(.internalError, "\(file): \(error)")
        }
    }
}
