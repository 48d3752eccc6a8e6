import SegONNX
import SegProtocol
import SegReference
import SegKernels
import SegTensor

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
            case .unknownOutput: return .invalidParams("params.outputs: \(e)")
            // Bad data meeting a node (shapes that do not broadcast, an index out of range):
            // the model and its input, not a bug of ours.
            case .node: return ResponseError(.invalidModel, "\(file): the model cannot run on this input: \(e)")
            case .cancelled: return .cancelled
            }
        // Kernel and tensor sizes come from the user's model and input; every check throws
        // rather than traps, so these are the model's (or the input's) fault too.
        case let e as KernelError:
            if case .unsupported = e { return ResponseError(.unsupportedOperator, "\(file): \(e)") }
            return ResponseError(.invalidModel, "\(file): the model cannot run on this input: \(e)")
        case let e as TensorError:
            switch e {
            case .negativeDimension, .elementCountOverflow, .tooLarge, .reshapeMismatch:
                return ResponseError(.invalidModel, "\(file): the model cannot run on this input: \(e)")
            default: return ResponseError(.internalError, "\(file): \(e)")
            }
        default:
            return ResponseError(.internalError, "\(file): \(error)")
        }
    }
}
