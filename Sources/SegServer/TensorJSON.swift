import Foundation
import SegProtocol
import SegTensor

/// Tensors on the wire: `{npy: path}` or inline `{dtype, shape, data}` (base64 of the
/// little-endian C-order bytes).
enum TensorJSON {
    static func decode(_ spec: JSONValue, field: String) throws -> Tensor {
        let p = try ParamReader(spec, path: field)
        if let path = try p.optionalString("npy") {
            try p.rejectUnknown(allowed: ["npy"])
            let file = try FilePaths.existingFile(path, field: "\(field).npy")
            do { return try Tensor(contentsOfNPY: URL(fileURLWithPath: file)) } catch {
                throw ResponseError.invalidParams("\(field).npy: \(error)")
            }
        }
        try p.rejectUnknown(allowed: ["dtype", "shape", "data"])
        let dtypeName = try p.string("dtype")
        guard let dtype = DType(rawValue: dtypeName) else {
            throw ResponseError.invalidParams("\(field).dtype: unknown dtype '\(dtypeName)' (one of: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let shapeValues = try p.optionalArray("shape") else { throw ResponseError.invalidParams("\(field).shape: required array is missing") }
        var dims: [Int] = []
        for v in shapeValues {
            guard let d = v.intValue, d >= 0 else { throw ResponseError.invalidParams("\(field).shape: dims must be non-negative integers, got \(v)") }
            dims.append(Int(d))
        }
        guard let data = Data(base64Encoded: try p.string("data")) else {
            throw ResponseError.invalidParams("\(field).data: not valid base64")
        }
        do {
            return try Tensor(dtype: dtype, shape: try Shape(dims), bytes: [UInt8](data))
        } catch {
            throw ResponseError.invalidParams("\(field): \(error)")
        }
    }
}
