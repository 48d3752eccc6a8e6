/// LSP's progress token: a client-chosen string or integer carried as `workDoneToken`.
public typealias ProgressToken = RequestID

/// `$/progress` notification (server → client), LSP's work-done shape:
/// `{token, value: {kind: "begin"|"report"|"end", title?, message?, percentage?, cancellable?}}`.
public struct ProgressNotification: Codable, Sendable, Equatable {
    public static let method = "$/progress"

    public enum Kind: String, Codable, Sendable { case begin, report, end }

    /// The token from the request's `workDoneToken`.
    public var token: ProgressToken
    public var kind: Kind
    /// Short title; `begin` only.
    public var title: String?
    public var message: String?
    /// 0...100, as in LSP.
    public var percentage: Int?

    public init(token: ProgressToken, kind: Kind, title: String? = nil, message: String? = nil, percentage: Int? = nil) {
        self.token = token
        self.kind = kind
        self.title = title
        self.message = message
        self.percentage = percentage
    }

    /// On the wire: `{token, value: {kind, title?, message?, percentage?, cancellable?}}`;
    /// `begin` says the request can be cancelled.
    struct Value: Codable {
        var kind: Kind
        var title: String?
        var message: String?
        var percentage: Int?
        var cancellable: Bool?
    }

    enum CodingKeys: String, CodingKey { case token, value }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let token = try c.decode(ProgressToken.self, forKey: .token)
        let v = try c.decode(Value.self, forKey: .value)
        self.init(token: token, kind: v.kind, title: v.title, message: v.message, percentage: v.percentage)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(token, forKey: .token)
        try c.encode(Value(kind: kind, title: title, message: message, percentage: percentage, cancellable: kind == .begin ? true : nil), forKey: .value)
    }

    public var json: JSONValue { (try? JSONValueEncoder().encode(self)) ?? .null }
}
