/// `model/info {id}`: the description of a resident model, as `model/load` returned it.
public enum ModelInfoRequest: RPCRequest {
    public static let method = "model/info"
    public typealias Params = ModelIDParams
    public typealias Result = ModelDescription
}

/// Params of methods that name one resident model.
public struct ModelIDParams: Codable, Sendable, Equatable {
    /// A resident model's id.
    public var id: String
    public init(id: String) { self.id = id }
}
