/// LSP's progress token: a client-chosen string or integer carried as `workDoneToken`.
public typealias ProgressToken = RequestID

/// `$/progress` notification (server → client), LSP's work-done shape:
/// `{token, value: {kind: "begin"|"report"|"end", title?, message?, percentage?, cancellable?}}`.
public struct ProgressNotification: Sendable, Equatable {
    public static let method = "$/progress"

    public enum Kind: String, Sendable { case begin, report, end }

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

    public var json: JSONValue {
        var value: [String: JSONValue] = ["kind": .string(kind.rawValue)]
        if let title { value["title"] = .string(title) }
        if let message { value["message"] = .string(message) }
        if let percentage { value["percentage"] = .int(Int64(percentage)) }
        if kind == .begin { value["cancellable"] = true }
        return ["token": token.json, "value": .object(value)]
    }
}
