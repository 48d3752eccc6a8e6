import Foundation
import SegProtocol
import SegTensor

/// Tensors on the wire: `{npy: path}` or inline `{dtype, shape, data}` (base64 of the
/// little-endian C-order bytes).
enum TensorJSON {
    static func decode(_ spec: TensorInput, field: String) throws -> Tensor {
        switch spec {
        case .npy(let path):
            let file = try FilePaths.existingFile(path, field: "\(field).npy")
            do { return try Tensor(contentsOfNPY: URL(fileURLWithPath: file)) } catch {
                throw ResponseError.invalidParams("\(field).npy: \(error)")
            }
        case .inline(let dtypeName, let shape, let base64):
            guard let dtype = DType(rawValue: dtypeName) else {
                throw ResponseError.invalidParams("\(field).dtype: unknown dtype '\(dtypeName)' (one of: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if let d = shape.first(where: { $0 < 0 }) {
                throw ResponseError.invalidParams("\(field).shape: dims must be non-negative integers, got \(d)")
            }
            guard let data = Data(base64Encoded: base64) else {
                throw ResponseError.invalidParams("\(field).data: not valid base64")
            }
            do {
                return try Tensor(dtype: dtype, shape: try Shape(shape), bytes: [UInt8](data))
            } catch {
                throw ResponseError.invalidParams("\(field): \(error)")
            }
        }
    }
}
