/// A produced file: its absolute path when the request gave an output folder, else
/// `{data: base64}` inline.
public enum FileOrData: Codable, Sendable, Equatable, JSONNamedType {
    case path(String)
    case data(String)

    public static var jsonTypeName: String { "a path or {data: base64}" }

    public var path: String? { if case .path(let p) = self { return p } else { return nil } }

    public init(from decoder: any Decoder) throws {
        let v = try decoder.singleValueContainer().decode(JSONValue.self)
        switch v {
        case .string(let p): self = .path(p)
        case .object(let o) where o.count == 1 && o["data"]?.stringValue != nil: self = .data(o["data"]?.stringValue ?? "")
        default:
            throw DecodingError.typeMismatch(FileOrData.self, .init(codingPath: decoder.codingPath, debugDescription: "expected a path or {data: base64}, got \(v.typeName)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .path(let p): try c.encode(p)
        case .data(let d): try c.encode(["data": d])
        }
    }
}
