/// A JSON-RPC error object: what every failing request answers with. Handlers throw it;
/// other errors are mapped to it at the server boundary.
public struct ResponseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var data: JSONValue?

    public init(_ code: ErrorCode, _ message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["code": .int(Int64(code.rawValue)), "message": .string(message)]
        if let data { o["data"] = data }
        return .object(o)
    }

    public init?(json: JSONValue) {
        guard let code = json["code"]?.intValue, let message = json["message"]?.stringValue else { return nil }
        self.init(ErrorCode(rawValue: Int(code)), message, data: json["data"])
    }

    public var description: String { "\(code): \(message)" }

    public static func invalidParams(_ message: String) -> ResponseError { .init(.invalidParams, message) }
    public static let cancelled = ResponseError(.requestCancelled, "request cancelled")
}
