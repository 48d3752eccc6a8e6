/// `server/status`: how the daemon is doing.
public enum ServerStatusRequest: RPCRequest {
    public static let method = "server/status"
    public typealias Params = NoParams
    public typealias Result = ServerStatusResult
}

/// `server/status`'s result.
public struct ServerStatusResult: Codable, Sendable, Equatable {
    public static let method = "server/status"

    /// SegSlim version.
    public var version: String
    /// Milliseconds since the daemon started.
    public var uptimeMs: Double
    /// Number of resident models.
    public var models: Int
    /// Bytes held by resident models.
    public var residentBytes: Int64
    /// Requests answered since start-up, on all connections (this one not counted).
    public var requestsServed: Int64
    /// Requests running now, on all connections (this one included).
    public var requestsInFlight: Int
    /// Open connections (1 on stdio): a client that has gone is not counted, even while its
    /// cancelled requests wind down.
    public var connections: Int
    /// Process id of the daemon.
    public var pid: Int32
    /// The daemon's resident set size, from the OS.
    public var rssBytes: Int64
    /// The run-time switches models are compiled with (nil: not reported).
    public var runtime: RuntimeOptionsStatus?

    public init(version: String, uptimeMs: Double, models: Int, residentBytes: Int64, requestsServed: Int64,
                requestsInFlight: Int, connections: Int, pid: Int32, rssBytes: Int64, runtime: RuntimeOptionsStatus? = nil) {
        self.version = version
        self.uptimeMs = uptimeMs
        self.models = models
        self.residentBytes = residentBytes
        self.requestsServed = requestsServed
        self.requestsInFlight = requestsInFlight
        self.connections = connections
        self.pid = pid
        self.rssBytes = rssBytes
        self.runtime = runtime
    }

    public var json: JSONValue { (try? ServerStatusRequest.encodeResult(self)) ?? .null }
}
