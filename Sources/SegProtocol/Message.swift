/// One JSON-RPC 2.0 message, classified. Parsing never throws: anything that is not a valid
/// message becomes `.invalid`, which the server answers with the right error and id.
public enum Message: Sendable, Equatable {
    case request(id: RequestID, method: String, params: JSONValue?)
    case notification(method: String, params: JSONValue?)
    case response(id: RequestID?, result: Result<JSONValue, ResponseError>)
    /// Not a valid message. `id` is the request id when one could be read, so the error can
    /// be correlated.
    case invalid(id: RequestID?, error: ResponseError)

    public init(json: JSONValue) {
        guard case .object(let o) = json else {
            self = .invalid(id: nil, error: .init(.invalidRequest, "a message must be a JSON object, got \(json.typeName)"))
            return
        }
        let rawID = o["id"]
        var id: RequestID? = nil
        if let rawID, !rawID.isNull {
            guard let parsed = RequestID(json: rawID) else {
                self = .invalid(id: nil, error: .init(.invalidRequest, "\"id\" must be a string or an integer, got \(rawID.typeName)"))
                return
            }
            id = parsed
        }
        guard o["jsonrpc"] == .string("2.0") else {
            self = .invalid(id: id, error: .init(.invalidRequest, "\"jsonrpc\" must be \"2.0\""))
            return
        }
        if let methodValue = o["method"] {
            guard case .string(let method) = methodValue else {
                self = .invalid(id: id, error: .init(.invalidRequest, "\"method\" must be a string, got \(methodValue.typeName)"))
                return
            }
            var params = o["params"]
            if let p = params {
                switch p {
                case .null: params = nil  // sloppy clients send null for "no params"
                case .object, .array: break
                default:
                    self = .invalid(id: id, error: .init(.invalidRequest, "\"params\" must be an object or an array, got \(p.typeName)"))
                    return
                }
            }
            if let rawID, rawID.isNull {
                // `"id": null` is legal JSON-RPC but ambiguous; treat it as a request whose
                // answer cannot be correlated, so the client at least gets an error back.
                self = .invalid(id: nil, error: .init(.invalidRequest, "\"id\" must not be null"))
                return
            }
            if let id {
                self = .request(id: id, method: method, params: params)
            } else {
                self = .notification(method: method, params: params)
            }
            return
        }
        if let result = o["result"] {
            self = .response(id: id, result: .success(result))
        } else if let errorValue = o["error"], let error = ResponseError(json: errorValue) {
            self = .response(id: id, result: .failure(error))
        } else {
            self = .invalid(id: id, error: .init(.invalidRequest, "a message needs \"method\", \"result\" or \"error\""))
        }
    }

    public var json: JSONValue {
        switch self {
        case .request(let id, let method, let params):
            var o: [String: JSONValue] = ["jsonrpc": "2.0", "id": id.json, "method": .string(method)]
            if let params { o["params"] = params }
            return .object(o)
        case .notification(let method, let params):
            var o: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
            if let params { o["params"] = params }
            return .object(o)
        case .response(let id, let result):
            var o: [String: JSONValue] = ["jsonrpc": "2.0", "id": id?.json ?? .null]
            switch result {
            case .success(let v): o["result"] = v
            case .failure(let e): o["error"] = e.json
            }
            return .object(o)
        case .invalid(let id, let error):
            return Message.response(id: id, result: .failure(error)).json
        }
    }
}
