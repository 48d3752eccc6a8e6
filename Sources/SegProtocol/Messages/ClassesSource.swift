/// Where class names (and their colours) come from, in `model/segment` and `model/annotate`:
/// a path (a dataset folder, its `dataset.json`, or an open dataset's id), or the names given
/// inline as `{names: [...], palette?: [[r, g, b], ...]}`.
public enum ClassesSource: Codable, Sendable, Equatable, JSONNamedType {
    case path(String)
    case inline(names: [String], palette: [[Int]]?)

    public static var jsonTypeName: String { "a dataset path or {names, palette?}" }

    public init(from decoder: any Decoder) throws {
        let v = try decoder.singleValueContainer().decode(JSONValue.self)
        switch v {
        case .string(let p): self = .path(p)
        case .object(let o) where Set(o.keys).isSubset(of: ["names", "palette"]):
            guard let names = o["names"]?.arrayValue?.compactMap(\.stringValue), names.count == o["names"]?.arrayValue?.count else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [NameKey("names")], debugDescription: "expected an array of class names"))
            }
            var palette: [[Int]]? = nil
            if let p = o["palette"], !p.isNull {
                let rows = p.arrayValue?.map { $0.arrayValue?.compactMap { $0.intValue }.map { Int($0) } ?? [] } ?? []
                guard p.arrayValue != nil, rows.allSatisfy({ $0.count == 3 && $0.allSatisfy { (0...255).contains($0) } }) else {
                    throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [NameKey("palette")],
                                                            debugDescription: "expected an array of [r, g, b] with values 0...255"))
                }
                palette = rows
            }
            self = .inline(names: names, palette: palette)
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected a dataset path or {names, palette?}"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .path(let p): try c.encode(p)
        case .inline(let names, let palette):
            var o: [String: JSONValue] = ["names": .array(names.map(JSONValue.string))]
            if let palette { o["palette"] = .array(palette.map { .array($0.map { .int(Int64($0)) }) }) }
            try c.encode(JSONValue.object(o))
        }
    }
}
