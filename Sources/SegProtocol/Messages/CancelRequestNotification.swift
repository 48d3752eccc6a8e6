/// `$/cancelRequest {id}`: cancel a running request; it answers RequestCancelled (-32800).
/// Cancelling an id that is not running (already answered, never sent) is not an error.
public struct CancelRequestNotification: Codable, Sendable, Equatable {
    public static let method = "$/cancelRequest"

    /// The id of the request to cancel.
    public var id: RequestID

    public init(id: RequestID) { self.id = id }

    public init(params: JSONValue?) throws(ResponseError) {
        let p = try ParamReader(params)
        guard let raw = p.fields["id"], let id = RequestID(json: raw) else {
            throw .invalidParams("params.id: required string or integer is missing")
        }
        self.id = id
    }

    public var params: JSONValue { ["id": id.json] }
}
