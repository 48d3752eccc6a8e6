/// A tensor in a request: `{npy: path}`, or inline `{dtype, shape, data}` (data: base64 of the
/// little-endian C-order bytes).
public enum TensorInput: Codable, Sendable, Equatable {
    case npy(String)
    case inline(dtype: String, shape: [Int], data: String)

    enum CodingKeys: String, CodingKey { case npy, dtype, shape, data }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // With `npy`, no other field is asked for, so any other is refused as unknown.
        if let path = try c.decodeIfPresent(String.self, forKey: .npy) {
            self = .npy(path)
            return
        }
        self = .inline(dtype: try c.decode(String.self, forKey: .dtype), shape: try c.decode([Int].self, forKey: .shape),
                       data: try c.decode(String.self, forKey: .data))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .npy(let path): try c.encode(path, forKey: .npy)
        case .inline(let dtype, let shape, let data):
            try c.encode(dtype, forKey: .dtype)
            try c.encode(shape, forKey: .shape)
            try c.encode(data, forKey: .data)
        }
    }
}
